-- Open Campus credentials of awards (the award's columns came with 0002): the Open Campus id of
-- an issued one, and the look-up by credential id that `credential.*` events need.
ALTER TABLE instances ADD COLUMN credential_vc_id text;
CREATE UNIQUE INDEX instances_credential_id ON instances (credential_id)
    WHERE credential_id IS NOT NULL;

-- A badge's Open Campus identifier (`achievement.identifier`) is its slug cut to 50 characters
-- (shared.opencampus.IDENTIFIER_MAX); two credential badges of one system never share it.
CREATE UNIQUE INDEX badges_credential_identifier ON badges (system_id, left(slug, 50))
    WHERE credential IS NOT NULL;
