# Two commands: `make run` (the console, on demo data unless DATABASE_URL is set) and
# `make test` (every test). Both install what is missing first. `make package` builds the
# console's Debian package.
.PHONY: run test package bindings schema openapi sqlx-prepare db-start db-stop clean-db

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# The console's Debian package (with the `digimed` tool), from a release build; prints its path.
package:
	@scripts/package.sh

# Regenerates ui/src/bindings.ts from the console's commands.
bindings:
	cargo run -p digimed-console -- --write-bindings

# Rewrites schema.sql from a freshly migrated database (a test fails while it is stale).
schema:
	DIGIMED_WRITE_SCHEMA=1 cargo test -p digimed-tests --test it schema_dump

# Rewrites docs/openapi.json, the HTTP service's OpenAPI document (a test fails while it is stale).
openapi:
	cargo run -q -p digimed-cli -- openapi > docs/openapi.json.new && mv docs/openapi.json.new docs/openapi.json

# Refreshes the SQL query data in .sqlx/ (a check in `make test` fails while it is stale).
sqlx-prepare:
	@scripts/sqlx-prepare.sh

db-start:
	@scripts/pg.sh start

db-stop:
	@scripts/pg.sh stop

# Removes the private database cluster and demo keys (the demo is created anew on `make run`).
clean-db:
	@scripts/pg.sh destroy
	rm -rf .pgdata .run
