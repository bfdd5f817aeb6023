"""Which audit actions carry which detection signal: downloads, shares, deletions, reads, logins,
admin changes. Data, not logic; the detectors read it through `Observation`.
"""

from __future__ import annotations

LOGIN = "user_login"
LOGIN_FAILED = "user_login_failed"
LOGOUT = "user_logout"

# metric name -> {action: weight}
DOWNLOADS = {"file_downloaded": 1.0, "file_downloaded_blocked": 1.0, "canvas_downloaded": 1.0}
# A public link or an external share exposes more than a channel share (spec §6 D10: weight 3).
SHARES = {
    "file_shared": 1.0,
    "canvas_shared": 1.0,
    "file_public_link_created": 3.0,
    "canvas_public_link_created": 3.0,
}
DELETIONS = {"message_tombstoned": 1.0}
# Platform methods (activity signals) that count toward a volume metric, with their weight:
# Slack's audit log has no per-message deletion event, so a purge shows as chat.delete calls.
METHOD_METRICS = {"chat.delete": ("deletions", 1.0)}
# Reads that have a target we can count distinctly (scraping breadth).
READS = {
    "canvas_opened": 1.0,
    "public_channel_preview": 1.0,
    "user_channel_join": 1.0,
    "guest_channel_join": 1.0,
}
# Actions whose `details.inviter` means the context is the inviter's, not the actor's.
INVITED_JOINS = frozenset({"user_channel_join", "guest_channel_join"})

# Admin actions that widen access or weaken controls: the stuff of an escalation chain
# (Panther `slack_user_privilege_escalation.py`; spec §6 D11).
PROMOTIONS = frozenset({"role_change_to_admin", "role_change_to_owner", "owner_transferred"})
HIGH_IMPACT = frozenset(
    {
        *PROMOTIONS,
        "permissions_assigned",
        "pref.sso_setting_changed",
        "pref.two_factor_auth_changed",
        "pref.two_factor_prevent_sms_changed",
        "pref.session_duration_changed",
        "pref.mobile_session_duration_changed",
        "pref.anomaly_event_response_changed",
        "pref.ext_audit_log_retention_duration_changed",
        "pref.public_channel_retention_changed",
        "pref.private_channel_retention_changed",
        "pref.dm_retention_changed",
        "pref.file_retention_changed",
        "pref.disallow_public_file_urls",
        "pref.app_whitelist_enabled",
        "manual_export_started",
        "manual_user_export_started",
        "scheduled_export_started",
        "channels_export_started",
        "corporate_exports_approved",
        "corporate_exports_enabled",
        "app_installed",
        "org_app_installed",
        "app_approved",
        "app_scopes_expanded",
        "idp_configuration_added",
        "idp_configuration_deleted",
        "idp_prod_configuration_updated",
        "ip_allowlist_disabled",
        "team_authorized_ip_range_set",
        "team_authorized_ip_range_added",
        "user_anomaly_event_response_allowlist_changed",
        "usergroup_anomaly_event_response_allowlist_changed",
        "bulk_session_reset_by_admin",
        "user_password_reset_by_admin",
        "legal_hold_policy_released",
        "ekm_unenrolled",
        "native_dlp_rule_deactivated",
        "audit_logs_export_csv_started",
        "audit_logs_export_json_started",
    }
)
ADMIN_ROUTINE = frozenset(
    {
        "user_session_reset_by_admin",
        "user_deactivated",
        "user_reactivated",
        "user_created",
        "role_change_to_user",
        "role_change_to_guest",
        "role_assigned",
        "role_removed",
        "permissions_removed",
        "user_email_updated",
        "manual_export_completed",
    }
)


def is_admin_action(action: str) -> bool:
    """Is `action` something only an administrator can do?"""
    return action in HIGH_IMPACT or action in ADMIN_ROUTINE or action.startswith("pref.")


def metric_of(action: str) -> tuple[str, float] | None:
    """The volume metric an action counts toward, with its weight."""
    for metric, table in (
        ("downloads", DOWNLOADS),
        ("shares", SHARES),
        ("deletions", DELETIONS),
    ):
        weight = table.get(action)
        if weight is not None:
            return metric, weight
    return None


def method_metric(method: str) -> tuple[str, float] | None:
    """The volume metric an API method counts toward, with its weight per call."""
    return METHOD_METRICS.get(method)


# API methods (from platform signals) by what they do.
READ_METHOD_PREFIXES = (
    "conversations.history",
    "conversations.replies",
    "conversations.list",
    "conversations.info",
    "conversations.members",
    "files.info",
    "files.list",
    "users.list",
    "users.info",
    "search.",
    "canvases.",
    "channels.history",
    "groups.history",
    "im.history",
)
CREDENTIAL_TEST_METHODS = frozenset({"auth.test", "oauth.v2.access", "openid.connect.token"})


def is_read_method(method: str) -> bool:
    """Does an API method read content (history, files, lists, search)?"""
    return method.startswith(READ_METHOD_PREFIXES)
