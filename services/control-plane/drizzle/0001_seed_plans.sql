-- The three plans and their limits (DESIGN §6). Later limit changes go in new migrations.
INSERT INTO "plans" ("id", "max_message_bytes", "history_size", "history_ttl_seconds") VALUES
  ('free', 65536, 100, 300),
  ('pro', 65536, 1000, 3600),
  ('scale', 262144, 10000, 86400)
ON CONFLICT ("id") DO UPDATE SET
  "max_message_bytes" = EXCLUDED."max_message_bytes",
  "history_size" = EXCLUDED."history_size",
  "history_ttl_seconds" = EXCLUDED."history_ttl_seconds";
