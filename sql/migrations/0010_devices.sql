-- Device registry of the ingest API: one row per device and its API key.
--
-- The key itself is never stored: `key_hash` is its SHA-256. Keys are 256-bit
-- random tokens, so a fast hash is safe (slow hashes protect guessable passwords)
-- and lets the ingress find a key by an index lookup. `key_prefix` (the first
-- characters) lets a person tell keys apart in `loom devices list`.
-- A revoked device keeps its row (its data stays attributable); its key stops
-- working at once: the trigger below tells running ingresses to forget it.

CREATE TABLE IF NOT EXISTS devices (
    device_id   text        PRIMARY KEY
                            CHECK (device_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    name        text        NOT NULL,
    key_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    key_prefix  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Ingresses cache accepted keys; any change to a key's row evicts it everywhere.
CREATE OR REPLACE FUNCTION devices_notify_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('loom_device_keys', encode(OLD.key_hash, 'hex'));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER devices_key_change
    AFTER UPDATE OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_notify_key_change();
