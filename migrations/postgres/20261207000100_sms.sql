-- SMS channel (#18): whether a clinic's reminders may go by SMS (after WhatsApp, before
-- e-mail). The outbox already holds any channel; consents already allow 'sms'.

ALTER TABLE clinic_messaging ADD COLUMN sms_enabled boolean NOT NULL DEFAULT false;
