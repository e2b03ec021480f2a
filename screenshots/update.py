"""Copy the snapshot SVGs of the main screens here, under names the README links to.

Run after ``pytest tests/tui --snapshot-update``: ``python screenshots/update.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE.parent / "tests" / "tui" / "__snapshots__"
NAMES = {
    "test_snapshots/test_login_80x24.svg": "login-80x24.svg",
    "test_snapshots/test_forced_password_change.svg": "password-change.svg",
    "test_snapshots/test_services.svg": "identity-services.svg",
    "test_snapshots/test_services_80x24_ansi_dark.svg": "identity-services-80x24-ansi-dark.svg",
    "test_snapshots/test_accounts_filtered.svg": "accounts-filtered.svg",
    "test_snapshots/test_new_account_form.svg": "new-account.svg",
    "test_snapshots/test_accounts_readonly.svg": "accounts-readonly.svg",
    "test_snapshots/test_comment_modal_80x24.svg": "audit-comment-80x24.svg",
    "test_snapshots/test_settings.svg": "settings.svg",
    "test_snapshots/test_dashboard_help_80x24.svg": "dashboard-help-80x24.svg",
    "test_device_panel/test_device_panel_80x24.svg": "device-login-80x24.svg",
    # The keys (issue 18): help panel, footers that fit, the resuming start.
    "test_snapshots_keys/test_inventory_help[80x24].svg": "inventory-help-80x24.svg",
    "test_snapshots_keys/test_permission_tree[100x30].svg": "permission-tree-100x30.svg",
    "test_snapshots_keys/test_resuming_a_remembered_session_80x24.svg":
        "login-resuming-80x24.svg",
    # Roles, permission tree and audit log (tests/tui/test_snapshots_b.py).
    "test_snapshots_b/test_roles_list_80x24_ansi_dark.svg": "roles-80x24-ansi-dark.svg",
    "test_snapshots_b/test_permission_tree_denied_and_explained.svg": "permission-tree.svg",
    "test_snapshots_b/test_permission_tree_controller_section_80x24.svg":
        "permission-tree-controller-80x24.svg",
    "test_snapshots_b/test_effective_permissions_explained.svg": "effective-permissions.svg",
    "test_snapshots_b/test_audit_log.svg": "audit-log.svg",
    "test_snapshots_b/test_audit_log_filtered_80x24.svg": "audit-log-filtered-80x24.svg",
    "test_snapshots_b/test_audit_log_broken_chain.svg": "audit-log-broken-chain.svg",
    # Certificates (tests/tui/test_snapshots_cert.py).
    "test_snapshots_cert/test_certificates.svg": "certificates.svg",
    "test_snapshots_cert/test_certificates_80x24_ansi_dark.svg":
        "certificates-80x24-ansi-dark.svg",
    "test_snapshots_cert/test_certificates_readonly.svg": "certificates-readonly.svg",
    "test_snapshots_cert/test_issue_controller_form.svg": "certificate-issue.svg",
    "test_snapshots_cert/test_revoke_typed_confirmation.svg": "certificate-revoke.svg",
    "test_snapshots_cert/test_bundle_password_shown_once.svg":
        "certificate-bundle-password.svg",
    # Inventory and deployments (tests/tui/test_snapshots_inv.py).
    "test_snapshots_inv/test_tree_and_detail.svg": "inventory.svg",
    "test_snapshots_inv/test_tree_and_detail_80x24_ansi_dark.svg":
        "inventory-80x24-ansi-dark.svg",
    "test_snapshots_inv/test_deploy_confirmation.svg": "inventory-deploy.svg",
    "test_snapshots_inv/test_schema_error.svg": "inventory-schema-error.svg",
    "test_snapshots_inv/test_high_import_report.svg": "inventory-import-report.svg",
    "test_snapshots_inv/test_readonly.svg": "inventory-readonly.svg",
    # Orders and job logs (tests/tui/test_snapshots_ord.py).
    "test_snapshots_ord/test_orders.svg": "orders.svg",
    "test_snapshots_ord/test_orders_80x24.svg": "orders-80x24.svg",
    "test_snapshots_ord/test_orders_unreachable.svg": "orders-unreachable.svg",
    "test_snapshots_ord/test_orders_readonly_ansi_dark.svg": "orders-readonly-ansi-dark.svg",
    "test_snapshots_ord/test_add_order_form.svg": "add-order.svg",
    "test_snapshots_ord/test_job_log.svg": "job-log.svg",
    # Dashboard, Controllers and Agents (tests/tui/test_snapshots_ctl.py).
    "test_snapshots_ctl/test_dashboard.svg": "dashboard.svg",
    "test_snapshots_ctl/test_dashboard_80x24_ansi_dark.svg": "dashboard-80x24-ansi-dark.svg",
    "test_snapshots_ctl/test_controllers.svg": "controllers.svg",
    "test_snapshots_ctl/test_controller_diagnosis.svg": "controller-diagnosis.svg",
    "test_snapshots_ctl/test_controllers_readonly_80x24.svg": "controllers-readonly-80x24.svg",
}

if __name__ == "__main__":
    for source, target in NAMES.items():
        shutil.copyfile(SNAPSHOTS / source, HERE / target)
        print(f"screenshots/{target}")
