-- The shared counters' first values (DML only).
INSERT INTO meta (key, value) VALUES ('storefront_generation', 0) ON CONFLICT (key) DO NOTHING;
