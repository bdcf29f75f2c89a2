-- Core CRM schema, SQLite dialect. The PostgreSQL file of the same number
-- holds the same tables; differences are commented there.
--
-- Conventions shared by both engines (see docs/designs/storage.md):
--   * instants are BIGINT milliseconds since the Unix epoch, UTC;
--   * calendar dates are TEXT 'YYYY-MM-DD' (byte order = date order);
--     '' means "none" where the column takes part in keyset sorting;
--   * money is BIGINT minor units (fen) at two decimal places;
--   * flags are BIGINT 0/1.

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    email          TEXT,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'rep', 'read_only')),
    team_id        BIGINT REFERENCES teams(id),
    locale         TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    active         BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX users_team ON users(team_id);

-- API tokens are stored as SHA-256 hashes; the clear token is shown once.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Browser sessions, also stored hashed so a leaked table opens nothing.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE customers (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('company', 'person')),
    name                TEXT NOT NULL,
    -- Normalized name (folded, legal form stripped) for duplicate lookups.
    name_key            TEXT NOT NULL,
    classification      TEXT NOT NULL CHECK (classification IN ('target', 'potential', 'partner', 'non_customer')),
    status              TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'archived')),
    source              TEXT,
    province            TEXT,
    city                TEXT,
    industry            TEXT,
    size                TEXT,
    mobile              TEXT,
    email               TEXT,
    external_id         TEXT,
    notes               TEXT,
    owner_id            BIGINT NOT NULL REFERENCES users(id),
    -- The owner's team, copied here so a manager's list is one index range;
    -- kept in step by ownership transfer and by changes of a user's team.
    team_id             BIGINT REFERENCES teams(id),
    attributes          TEXT NOT NULL DEFAULT '{}',
    -- Aggregates over counted orders, maintained in every order write.
    first_order_date    TEXT NOT NULL DEFAULT '',
    last_order_date     TEXT NOT NULL DEFAULT '',
    order_count         BIGINT NOT NULL DEFAULT 0,
    purchase_days       BIGINT NOT NULL DEFAULT 0,
    total_amount        BIGINT NOT NULL DEFAULT 0,
    total_profit        BIGINT NOT NULL DEFAULT 0,
    profit_order_count  BIGINT NOT NULL DEFAULT 0,
    created_by          BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
-- External ids come from other systems and identify a customer on import.
CREATE UNIQUE INDEX customers_external_id ON customers(external_id) WHERE external_id IS NOT NULL;
-- Duplicate detection: name key, mobile, email are exact lookups.
CREATE INDEX customers_name_key ON customers(name_key);
CREATE INDEX customers_mobile ON customers(mobile) WHERE mobile IS NOT NULL;
CREATE INDEX customers_email ON customers(email) WHERE email IS NOT NULL;
-- Keyset paging: one index per sort key, plain and within each scope.
CREATE INDEX customers_created ON customers(created_at, id);
CREATE INDEX customers_owner_created ON customers(owner_id, created_at, id);
CREATE INDEX customers_team_created ON customers(team_id, created_at, id);
CREATE INDEX customers_updated ON customers(updated_at, id);
CREATE INDEX customers_name ON customers(name, id);
CREATE INDEX customers_owner_name ON customers(owner_id, name, id);
CREATE INDEX customers_total ON customers(total_amount, id);
CREATE INDEX customers_last_order ON customers(last_order_date, id);
-- Filters.
CREATE INDEX customers_classification ON customers(classification, created_at, id);
CREATE INDEX customers_region ON customers(province, city);
CREATE INDEX customers_industry ON customers(industry);

CREATE TABLE customer_tags (
    customer_id  BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    dimension    TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (customer_id, dimension, value)
);
-- "customers with tag X" starts here.
CREATE INDEX customer_tags_lookup ON customer_tags(dimension, value, customer_id);

-- Search terms (suffixes in characters, pinyin, initials; phone digits),
-- rebuilt for a customer whenever its name, phones, emails or contacts
-- change. A substring search is a range scan on the primary key.
CREATE TABLE customer_search (
    term         TEXT NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (term, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_search_customer ON customer_search(customer_id);

CREATE TABLE contacts (
    id                     INTEGER PRIMARY KEY,
    customer_id            BIGINT NOT NULL REFERENCES customers(id),
    name                   TEXT NOT NULL,
    department             TEXT,
    title                  TEXT,
    level                  TEXT CHECK (level IN ('executive', 'management', 'staff', 'other')),
    superior_id            BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    business_area          TEXT,
    authority_scope        TEXT,
    budget_authority       TEXT CHECK (budget_authority IN ('none', 'influence', 'approve', 'final')),
    is_key_decision_maker  BIGINT NOT NULL DEFAULT 0,
    mobile                 TEXT,
    wechat                 TEXT,
    email                  TEXT,
    other_channels         TEXT,
    closeness              TEXT NOT NULL CHECK (closeness IN ('close', 'regular', 'initial', 'unknown')),
    notes                  TEXT,
    created_by             BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX contacts_customer ON contacts(customer_id, id);
CREATE INDEX contacts_superior ON contacts(superior_id) WHERE superior_id IS NOT NULL;
CREATE INDEX contacts_mobile ON contacts(mobile) WHERE mobile IS NOT NULL;
CREATE INDEX contacts_email ON contacts(email) WHERE email IS NOT NULL;

CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY,
    customer_id     BIGINT REFERENCES customers(id),
    title           TEXT NOT NULL,
    due_date        TEXT NOT NULL,
    assignee_id     BIGINT NOT NULL REFERENCES users(id),
    done_at         BIGINT,
    created_by      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- "My follow-ups" reads open tasks of one assignee by due date.
CREATE INDEX tasks_open_by_assignee ON tasks(assignee_id, due_date, id) WHERE done_at IS NULL;
CREATE INDEX tasks_customer ON tasks(customer_id, id);

CREATE TABLE interactions (
    id              INTEGER PRIMARY KEY,
    customer_id     BIGINT NOT NULL REFERENCES customers(id),
    contact_id      BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('call', 'visit', 'wechat', 'email', 'meeting', 'other')),
    content         TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users(id),
    next_follow_up  TEXT,
    task_id         BIGINT REFERENCES tasks(id) ON DELETE SET NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- The 360° timeline: newest interactions of one customer.
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at, id);
CREATE INDEX interactions_contact ON interactions(contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers(id),
    external_id  TEXT,
    order_date   TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    cost         BIGINT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'cancelled')),
    note         TEXT,
    created_by   BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX orders_external_id ON orders(external_id) WHERE external_id IS NOT NULL;
-- Aggregate recomputation and the customer's order list read this range.
CREATE INDEX orders_customer_date ON orders(customer_id, order_date, id);
CREATE INDEX orders_date ON orders(order_date);

-- Who changed what, when. No foreign keys: the trail outlives its subjects.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor_id   BIGINT,
    entity     TEXT NOT NULL,
    entity_id  BIGINT NOT NULL,
    action     TEXT NOT NULL,
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_entity ON audit_log(entity, entity_id, id);
