-- The fields of Login as Customer entries written before 0007, read once from their text
-- (DML only), as `OtcIssue::from_legacy` reads a redb file's: an issue's actor and detail; a
-- use's "issued by NAME; reason: TEXT" (the name up to the first "; reason: ").
UPDATE audit_log SET issued_by = actor, reason = COALESCE(detail, '')
WHERE action = 'otc_issued' AND issued_by IS NULL;
UPDATE audit_log SET
    issued_by = CASE
        WHEN strpos(d, '; reason: ') > 0 THEN substr(d, 1, strpos(d, '; reason: ') - 1)
        ELSE d
    END,
    reason = CASE
        WHEN strpos(d, '; reason: ') > 0 THEN substr(d, strpos(d, '; reason: ') + 10)
        ELSE ''
    END
FROM (
    SELECT seq AS s,
        CASE WHEN COALESCE(detail, '') LIKE 'issued by %' THEN substr(detail, 11)
             ELSE COALESCE(detail, '') END AS d
    FROM audit_log WHERE action = 'otc_used' AND issued_by IS NULL
) legacy
WHERE audit_log.seq = legacy.s;
