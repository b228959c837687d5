-- Tessera schema, version 7: a session's attributes as two text columns, as the SQLite schema
-- has them, so that both backends read and write one row model (and a lookup parses no JSON for
-- them). Adding and dropping the columns touches no row; the copy rewrites only the sessions
-- that have an attribute.
ALTER TABLE sessions ADD COLUMN ip_address text, ADD COLUMN user_agent text;
UPDATE sessions SET ip_address = attributes ->> 'ip_address', user_agent = attributes ->> 'user_agent'
    WHERE attributes ->> 'ip_address' IS NOT NULL OR attributes ->> 'user_agent' IS NOT NULL;
ALTER TABLE sessions DROP COLUMN attributes;
