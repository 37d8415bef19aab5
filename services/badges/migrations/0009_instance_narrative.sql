-- An award's narrative: how it was earned, in Markdown (an import's `narrative` column). Shown
-- as the `narrative` of its Open Badges 2.0 assertion and of its OB 3.0 credential's subject.
-- Nullable without a default: adding it rewrites no row (the awards made before have none).
ALTER TABLE instances ADD COLUMN narrative text;
