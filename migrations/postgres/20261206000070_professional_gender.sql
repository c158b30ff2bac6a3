-- A professional's gender, for the words that agree with it (Dra./Dr., Médica/Médico,
-- Cirurgiã-dentista/Cirurgião-dentista). NULL: not given; the app then uses neutral forms.
ALTER TABLE professionals ADD COLUMN gender TEXT CHECK (gender IN ('female', 'male'));
