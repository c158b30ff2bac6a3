-- Scope of practice brings two kinds (attendance declarations for every profession,
-- psychological reports for psychologists), and each signed document records whether its
-- certificate chained to ICP-Brasil (the PDF, the verification page and the ITI reply
-- disclose it when not).
ALTER TABLE documents DROP CONSTRAINT documents_kind_check;
ALTER TABLE documents ADD CONSTRAINT documents_kind_check CHECK (kind IN ('prescription',
    'special_prescription', 'certificate', 'exam_request', 'attendance_declaration',
    'psychological_report'));
ALTER TABLE documents ADD COLUMN icp_brasil boolean NOT NULL DEFAULT false;
