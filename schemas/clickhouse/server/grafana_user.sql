-- Server only (chDB has no users): the read-only account Grafana's datasource uses.
-- Applied by `parcours migrate` when PARCOURS_GRAFANA_DB_PASSWORD is set. Only the SHA-256
-- of the password is sent; {user} and {database} are validated identifiers.
CREATE USER IF NOT EXISTS {user} IDENTIFIED WITH sha256_hash BY '{sha256}' SETTINGS readonly = 1;
GRANT SELECT ON {database}.* TO {user};
