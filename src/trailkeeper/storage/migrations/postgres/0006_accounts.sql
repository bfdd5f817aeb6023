-- Accounts: users with a role and a login, apps, installations, authorization codes, sign-in
-- sessions and counted sign-in attempts. Secrets (passwords, client secrets, codes, session
-- cookies) are stored only as hashes.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id),
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    login           TEXT NOT NULL UNIQUE,   -- lower-cased email: what the sign-in form matches
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    password_hash   TEXT,                   -- argon2id PHC string; NULL: cannot sign in
    deactivated_at  BIGINT
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE apps (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    client_id           TEXT NOT NULL UNIQUE,
    client_secret_hash  BYTEA NOT NULL,
    redirect_urls       TEXT NOT NULL,      -- newline-separated, matched exactly
    user_scopes         TEXT NOT NULL,      -- space-separated
    bot_scopes          TEXT NOT NULL,
    is_distributed      BIGINT NOT NULL,
    created_at          BIGINT NOT NULL
);

CREATE TABLE installations (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps(id),
    org_id          TEXT NOT NULL REFERENCES organizations(id),
    installer_id    TEXT NOT NULL REFERENCES users(id),
    user_scopes     TEXT NOT NULL,
    bot_scopes      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    workspace_id    TEXT,                   -- NULL: installed on the whole organization
    revoked_at      BIGINT
);
CREATE INDEX installations_app_org ON installations(app_id, org_id);
CREATE INDEX tokens_installation ON tokens(installation_id);

CREATE TABLE auth_codes (
    code_hash           BYTEA PRIMARY KEY,
    installation_id     TEXT NOT NULL REFERENCES installations(id),
    app_id              TEXT NOT NULL,
    redirect_uri        TEXT NOT NULL,
    redirect_uri_given  BIGINT NOT NULL,
    code_challenge      TEXT,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    redeemed_at         BIGINT,
    token_id            TEXT
);
CREATE INDEX auth_codes_expiry ON auth_codes(expires_at);

CREATE TABLE web_sessions (
    id_hash     BYTEA PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    number      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);

CREATE TABLE signin_attempts (
    key         TEXT NOT NULL,              -- "login:<sha256>" or "ip:<address>"
    attempt     TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX signin_attempts_key ON signin_attempts(key, at);
CREATE INDEX signin_attempts_attempt ON signin_attempts(attempt);
CREATE INDEX signin_attempts_at ON signin_attempts(at);
