-- The customers written before 0011 keep what their ID tokens asserted so far (`confirmed`),
-- as a redb record without the field reads. DML only; it runs once, before this build serves.
UPDATE customers SET email_verified = confirmed WHERE email_verified <> confirmed;
