import Foundation
import PostgresNIO

/// The store's schema as versioned migrations, each applied once, in order, in its own transaction
/// under an advisory lock (two processes opening a new database at once apply each one once).
///
/// A record is kept whole as JSONB (`record`), as its Codable type writes it; the columns beside it
/// are the ones the store queries and locks by (state, order, leases). Artifacts are content-addressed
/// chunks (`artifact_chunks`, by SHA-256), named per job in `artifacts` and per dataset in `dataset_artifacts`.
enum PostgresMigrations {
    struct Migration {
        var version: Int
        var name: String
        var statements: [PostgresQuery]
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "datasets, jobs, plans, values, trials, models, artifacts", statements: [
            """
            CREATE TABLE datasets (
                id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                record JSONB NOT NULL,
                import_owner TEXT,
                import_expires_at TIMESTAMPTZ,
                import_attempts INTEGER NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                dataset_id TEXT REFERENCES datasets(id) ON DELETE SET NULL,
                state TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                record JSONB NOT NULL,
                cancel_requested BOOLEAN NOT NULL DEFAULT false,
                lease_owner TEXT,
                lease_attempt INTEGER NOT NULL DEFAULT 0,
                lease_expires_at TIMESTAMPTZ,
                lease_renewed_at TIMESTAMPTZ,
                lost_unit TEXT,
                unit_losses INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX jobs_by_state ON jobs (state, created_at)",
            "CREATE INDEX jobs_by_dataset ON jobs (dataset_id)",
            "CREATE TABLE plans (job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE, plan JSONB NOT NULL)",
            """
            CREATE TABLE job_values (
                job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                value BYTEA NOT NULL,
                PRIMARY KEY (job_id, key)
            )
            """,
            """
            CREATE TABLE trials (
                job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                trial_id INTEGER NOT NULL,
                record JSONB NOT NULL,
                PRIMARY KEY (job_id, trial_id)
            )
            """,
            "CREATE TABLE models (id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE, created_at DOUBLE PRECISION NOT NULL, record JSONB NOT NULL)",
            """
            CREATE TABLE artifact_chunks (
                sha256 TEXT NOT NULL,
                index INTEGER NOT NULL,
                bytes BYTEA NOT NULL,
                PRIMARY KEY (sha256, index)
            )
            """,
            """
            CREATE TABLE artifacts (
                job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size BIGINT NOT NULL,
                chunks INTEGER NOT NULL,
                PRIMARY KEY (job_id, name)
            )
            """,
            "CREATE INDEX artifacts_by_content ON artifacts (sha256)",
        ]),
        Migration(version: 2, name: "resources of the compatible APIs", statements: [
            """
            CREATE TABLE resources (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                document BYTEA NOT NULL,
                PRIMARY KEY (kind, id)
            )
            """,
        ]),
        // A record keeps its fields in `record`; older ones get `version` 1 written out, so queries on it see every dataset.
        Migration(version: 3, name: "datasets' versions", statements: [
            "UPDATE datasets SET record = jsonb_set(record, '{version}', '1') WHERE NOT record ? 'version'",
        ]),
        Migration(version: 4, name: "trial units", statements: [
            """
            CREATE TABLE trial_units (
                job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                trial_id INTEGER NOT NULL,
                decision BYTEA NOT NULL,
                owner TEXT,
                attempt INTEGER NOT NULL,
                expires_at TIMESTAMPTZ,
                claimed_at TIMESTAMPTZ NOT NULL,
                renewed_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (job_id, trial_id)
            )
            """,
        ]),
        // No foreign key: a server keeps a zip upload here before the dataset's row exists.
        Migration(version: 5, name: "dataset artifacts", statements: [
            """
            CREATE TABLE dataset_artifacts (
                dataset_id TEXT NOT NULL,
                name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size BIGINT NOT NULL,
                chunks INTEGER NOT NULL,
                PRIMARY KEY (dataset_id, name)
            )
            """,
            "CREATE INDEX dataset_artifacts_by_content ON dataset_artifacts (sha256)",
        ]),
    ]

    /// Applies the migrations the database has not had yet.
    /// - Throws: `StoreError.database` when a statement fails (the failed migration is rolled back whole).
    static func migrate(_ connections: PostgresConnections) throws {
        try connections.transaction { transaction in
            try transaction.execute("SELECT pg_advisory_xact_lock(7406220301)")
            try transaction.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """)
        }
        for migration in all {
            try connections.transaction { transaction in
                try transaction.execute("SELECT pg_advisory_xact_lock(7406220301)")
                let applied = try transaction.rows("SELECT 1 FROM schema_migrations WHERE version = \(migration.version)")
                guard applied.isEmpty else { return }
                for statement in migration.statements { try transaction.execute(statement) }
                try transaction.execute("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
            }
        }
    }
}
