"""Static catalogues for the demo generator: names, places, networks, clients, apps."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES = (
    "Aisha", "Alejandro", "Amara", "Andre", "Anika", "Arjun", "Beatriz", "Ben", "Bianca", "Caleb",
    "Carmen", "Chen", "Chloe", "Daniel", "Dmitri", "Elena", "Elif", "Emeka", "Emily", "Erik",
    "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hana", "Hannah", "Hiro", "Ines", "Isaac",
    "Isabel", "Jack", "James", "Jasmine", "Javier", "Jonas", "Julia", "Kai", "Kenji", "Kofi",
    "Lars", "Laura", "Leila", "Liam", "Lina", "Lucas", "Maya", "Mateo", "Mei", "Mohammed",
    "Nadia", "Naomi", "Nikhil", "Noah", "Nora", "Olivia", "Omar", "Oscar", "Priya", "Rafael",
    "Rania", "Ravi", "Rosa", "Ryan", "Sakura", "Samuel", "Sara", "Sebastian", "Sofia", "Stefan",
    "Tariq", "Tessa", "Theo", "Tomás", "Valentina", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Abe", "Adeyemi", "Ahmed", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Castillo",
    "Chen", "Clarke", "Costa", "Cruz", "Dubois", "Eriksson", "Fernandes", "Fischer", "Garcia",
    "Gupta", "Haddad", "Hansen", "Harris", "Hayashi", "Hughes", "Ito", "Jensen", "Johansson",
    "Kaur", "Kim", "Kowalski", "Larsen", "Lee", "Lindqvist", "Lopez", "Martin", "Mehta",
    "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Nilsson", "Novak", "Okafor", "Olsen",
    "Patel", "Pereira", "Petrov", "Quinn", "Rahman", "Reyes", "Rossi", "Sato", "Schmidt",
    "Shah", "Silva", "Singh", "Suzuki", "Tanaka", "Taylor", "Thompson", "Walker", "Wang",
    "Watanabe", "Weber", "Williams", "Wilson", "Yamamoto", "Zhang", "Zimmermann",
)  # fmt: skip

# (department, weight, titles, workspace key: "eng" or "regional")
DEPARTMENTS: tuple[tuple[str, float, tuple[str, ...], str], ...] = (
    ("Engineering", 0.27, ("Software Engineer", "Senior Software Engineer", "Staff Engineer",
                           "Engineering Manager", "Site Reliability Engineer"), "eng"),
    ("Product", 0.07, ("Product Manager", "Senior Product Manager", "Product Analyst"), "eng"),
    ("Design", 0.05, ("Product Designer", "UX Researcher", "Design Lead"), "eng"),
    ("IT & Security", 0.05, ("IT Specialist", "Security Engineer", "IT Manager"), "eng"),
    ("Sales", 0.16, ("Account Executive", "Sales Development Rep", "Sales Director"), "regional"),
    ("Marketing", 0.08, ("Marketing Manager", "Content Strategist", "Growth Analyst"), "regional"),
    ("Customer Support", 0.12, ("Support Specialist", "Support Team Lead",
                                "Customer Success Manager"), "regional"),
    ("Finance", 0.07, ("Accountant", "Financial Analyst", "Controller"), "regional"),
    ("People", 0.05, ("HR Business Partner", "Recruiter", "People Ops Specialist"), "regional"),
    ("Legal", 0.04, ("Counsel", "Paralegal", "Compliance Manager"), "regional"),
    ("Operations", 0.04, ("Operations Manager", "Office Manager", "Procurement Analyst"),
     "regional"),
)  # fmt: skip


@dataclass(frozen=True)
class Region:
    """A home region: country, UTC offset, office egress and ISP address pools."""

    key: str
    country: str
    city: str
    tz: int
    weight: float
    workspace: str
    offices: tuple[str, ...]
    home_nets: tuple[str, ...]
    mobile_nets: tuple[str, ...]
    home_v6: str
    mobile_v6: str


REGIONS = (
    Region("us-east", "US", "New York", -5, 0.33, "hq", ("216.160.83.57", "216.160.83.58"),
           ("73.162.0.0/16", "98.116.0.0/16", "71.105.0.0/16"), ("172.56.0.0/16",
           "174.205.0.0/16"), "2601:646:8000::/40", "2607:fb90::/32"),
    Region("us-west", "US", "San Francisco", -8, 0.25, "hq", ("216.160.83.60", "216.160.83.61"),
           ("73.223.0.0/16", "24.6.0.0/16", "216.160.83.56/29"), ("172.58.0.0/16",),
           "2601:647:4000::/40", "2607:fb91::/32"),
    Region("london", "GB", "London", 0, 0.17, "eu", ("81.2.69.160", "81.2.69.161"),
           ("81.2.69.144/28", "81.2.69.192/28", "2.125.160.216/29", "86.128.0.0/16"),
           ("31.94.0.0/16", "82.132.192.0/18"), "2a00:23c4::/32", "2a01:4c8::/32"),
    Region("stockholm", "SE", "Linköping", 1, 0.08, "eu", ("89.160.20.112", "89.160.20.113"),
           ("89.160.20.128/25", "83.251.0.0/16"), ("90.224.0.0/16",), "2001:2002::/32",
           "2a00:801::/32"),
    Region("tokyo", "JP", "Tokyo", 9, 0.17, "apac", ("153.156.220.10", "153.156.220.11"),
           ("126.72.0.0/16", "60.64.0.0/16"), ("49.96.0.0/16", "1.66.0.0/16"), "2001:218::/32",
           "2001:268::/32"),
)  # fmt: skip

# (key, name, domain); the Engineering workspace is home for engineering-type departments.
WORKSPACES = (
    ("hq", "Acme HQ", "acme-hq"),
    ("eng", "Acme Engineering", "acme-eng"),
    ("eu", "Acme Europe", "acme-eu"),
    ("apac", "Acme APAC", "acme-apac"),
)

GUEST_DOMAINS = ("globex.example", "initech.example", "umbrella-design.example", "hooli.example")

_SLACK = (
    "Slack/4.41.105 Chrome/128.0.6613.186 Electron/32.2.2 Safari/537.36 Sonic Slack_SSB/4.41.105"
)
_SLACK_OLD = (
    "Slack/4.40.133 Chrome/126.0.6478.234 Electron/31.4.0 Safari/537.36 Sonic Slack_SSB/4.40.133"
)
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
DESKTOP_UAS = (
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} {_SLACK}",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} {_SLACK}",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} {_SLACK}",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} {_SLACK_OLD}",
    f"Mozilla/5.0 (X11; Linux x86_64) {_WEBKIT} {_SLACK}",
)
BROWSER_UAS = (
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} Chrome/130.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WEBKIT} Chrome/130.0.0.0 Safari/537.36 "
    "Edg/130.0.2849.68",
)
MOBILE_UAS = (
    "com.tinyspeck.chatlyio/24.11.10 (iPhone; iOS 18.1; Scale/3.00)",
    "com.tinyspeck.chatlyio/24.10.20 (iPhone; iOS 17.6.1; Scale/3.00)",
    "com.tinyspeck.chatlyio/24.11.10 (iPad; iOS 18.1; Scale/2.00)",
    "com.Slack/24.11.10.0 (Android 15; Pixel 8)",
    "com.Slack/24.10.20.0 (Android 14; SM-S918B)",
)

# Networks used by the injected suspicious episodes.
TOR_EXITS = ("185.220.101.47", "185.220.101.182", "185.220.100.252")
TOR_UA = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
FOREIGN_IPS = ("175.16.199.23", "175.16.199.118")  # Changchun, CN
HOSTING_IPS = ("45.155.205.233", "45.155.205.86")
SCRIPT_UA = "python-requests/2.32.3"

CHANNEL_NAMES = (
    "announcements", "random", "watercooler", "help-it", "incidents", "deploys", "eng-platform",
    "eng-backend", "eng-frontend", "eng-mobile", "eng-oncall", "code-review", "design-crit",
    "product-roadmap", "product-feedback", "sales-pipeline", "deals-desk", "marketing-campaigns",
    "content-calendar", "support-escalations", "support-tier2", "finance-close", "procurement",
    "legal-contracts", "people-ops", "hiring", "security-alerts", "proj-phoenix", "proj-atlas",
    "proj-nimbus", "proj-orion", "cust-globex", "cust-initech", "cust-umbrella", "book-club",
    "pets", "running-club", "kudos", "office-events", "data-requests", "analytics",
)  # fmt: skip
PRIVATE_CHANNEL_NAMES = (
    "leadership", "hiring-committee", "comp-review", "security-incident-response", "board-prep",
    "finance-audit", "legal-privileged", "mna-falcon", "perf-calibration", "exec-staff",
)  # fmt: skip
NEW_CHANNEL_WORDS = (
    "launch", "migration", "offsite", "q3-planning", "q4-planning", "rfp", "pilot", "renewal",
    "hackathon", "retro", "okrs", "vendor-eval", "beta", "war-room", "postmortem", "onboarding",
)  # fmt: skip

FILE_TOPICS = (
    "q3_pipeline_review", "q4_forecast", "board_deck", "design_spec_checkout", "api_contract",
    "incident_postmortem", "onboarding_guide", "pricing_model", "customer_list_emea",
    "security_review", "vendor_contract_redline", "roadmap_h2", "brand_guidelines", "logo_final",
    "sprint_retro", "benchmark_results", "access_review", "expense_report", "org_chart",
    "sales_playbook", "survey_results", "release_notes", "architecture_diagram", "budget_2025",
    "nda_signed", "invoice", "headcount_plan", "load_test", "screenshot", "meeting_recording",
)  # fmt: skip
FILE_TYPES = (
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("csv", "text/csv"),
    ("txt", "text/plain"),
    ("zip", "application/zip"),
    ("mp4", "video/mp4"),
)
CANVAS_TITLES = (
    "Team charter", "Weekly sync notes", "Q4 OKRs", "Onboarding checklist", "Launch plan",
    "Incident timeline", "Hiring plan", "Customer FAQ", "Runbook", "Retro notes", "Project brief",
    "Meeting agenda", "Release checklist", "Design review", "Account plan", "Budget notes",
)  # fmt: skip

USERGROUPS = (
    "all-staff", "engineering", "product", "design", "sales", "marketing", "support", "finance",
    "people", "legal", "it-admins", "security", "leadership", "contractors", "oncall",
)  # fmt: skip

EMOJI = ("partyparrot", "shipit", "lgtm", "this-is-fine", "acme-logo", "blob-wave", "catjam")

# (name, scopes, bot_scopes, is_distributed, is_directory_approved, is_workflow_app)
APPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], bool, bool, bool], ...] = (
    ("Google Drive", ("links:read", "links:write"), ("chat:write", "files:read", "links:read"),
     True, True, False),
    ("Jira Cloud", ("commands",), ("chat:write", "channels:read", "users:read", "links:read"),
     True, True, False),
    ("Zoom", ("commands", "calls:write"), ("chat:write", "calls:read", "users:read"),
     True, True, False),
    ("GitHub", ("commands", "links:read"), ("chat:write", "channels:read", "reactions:write"),
     True, True, False),
    ("PagerDuty", ("commands",), ("chat:write", "channels:manage", "users:read.email"),
     True, True, False),
    ("Acme Provisioner", (), ("channels:manage", "channels:read", "groups:write", "users:read"),
     False, False, False),
    ("Acme Report Bot", (), ("chat:write", "files:write", "channels:read"), False, False, False),
    ("Vaultkeep eDiscovery", ("discovery:read", "discovery:write"), (), True, True, False),
    ("Notion", ("links:read", "links:write"), ("chat:write", "channels:read", "users:read"),
     True, True, False),
    ("Donut", (), ("chat:write", "im:write", "users:read", "channels:read"), True, True, False),
    ("Polly", ("commands",), ("chat:write", "reactions:read"), True, True, False),
    ("Onboarding Workflows", (), ("chat:write", "users:read"), False, False, True),
    ("PDF Toolkit Pro", ("files:read", "channels:history", "groups:history", "im:history",
                         "users:read.email"), ("files:read", "files:write", "chat:write"),
     True, False, False),
)  # fmt: skip
APP_AGENTS = {
    "Acme Provisioner": ("Python/3.11.9 slackclient/3.33.1 Linux/5.15.0-1064-aws", "52.20.147.31"),
    "Acme Report Bot": ("node/20.11.1 @slack/web-api/7.3.4 linux/5.10.219", "52.20.147.32"),
    "Vaultkeep eDiscovery": ("Apache-HttpClient/4.5.14 (Java/17.0.9)", "34.102.136.180"),
}

WORKFLOWS = (
    "Time off request", "IT help request", "New hire welcome", "Expense approval",
    "Incident declaration", "Weekly standup", "Feedback form", "Access request",
)  # fmt: skip
TEMPLATES = ("Project kickoff", "Incident response", "Sales deal room", "New hire onboarding")
ROLES = (("Channels Admin", "0"), ("Users Admin", "0"), ("Roles Admin", "0"),
         ("Audit Logs Admin", "1"), ("Legal Hold Admin", "1"))  # fmt: skip
ACCOUNT_TYPE_ROLES = ("Full Member", "Multi-Channel Guest", "Single-Channel Guest", "Contractor")
PERMISSIONS = ("create_public_channels", "create_private_channels", "invite_guests",
               "manage_apps", "create_workflows", "use_slack_connect")  # fmt: skip

# (action, previous, new, scope) — scope "enterprise" or "workspace".
PREF_CHANGES: tuple[tuple[str, object, object, str], ...] = (
    ("pref.two_factor_auth_changed", "optional", "required", "enterprise"),
    ("pref.session_duration_changed", "2592000", "1209600", "enterprise"),
    ("pref.public_channel_retention_changed", "RETAIN_ALL", "EXPIRE_MSGS", "enterprise"),
    ("pref.file_retention_changed", "RETAIN_ALL", "EXPIRE_ALL", "enterprise"),
    ("pref.app_whitelist_enabled", "false", "true", "enterprise"),
    ("pref.disallow_public_file_urls", "false", "true", "enterprise"),
    (
        "pref.who_can_create_public_channels",
        ["EVERYONE"],
        ["ADMINS", "REGULAR_MEMBERS"],
        "workspace",
    ),
    (
        "pref.who_can_manage_ext_shared_channels",
        {"type": ["ORG_ADMINS_AND_OWNERS"]},
        {"type": ["TOPLEVEL_ADMINS_AND_OWNERS_AND_SELECTED"]},
        "enterprise",
    ),
    ("pref.allow_calls", "true", "false", "workspace"),
    ("pref.display_real_names", "false", "true", "workspace"),
    ("pref.msg_edit_window_mins", "-1", "60", "workspace"),
    ("pref.block_file_download_for_unapproved_ip", "false", "true", "enterprise"),
)
