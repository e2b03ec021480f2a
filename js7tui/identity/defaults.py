"""What a new home starts with (reference 1.2 and 3.1; issue: JOC-INITIAL and stricter defaults).

The six default roles follow the JOC 2.x ``shiro.ini`` sets of the reference. One deviation:
``application_manager`` lists ``joc:administration:controller:view`` (singular, a typo in the
source that grants nothing); we grant the intended ``...:controllers:view``.
"""

from __future__ import annotations

INITIAL_SERVICE = "JOC-INITIAL"
INITIAL_ACCOUNT = "root"
INITIAL_ACCOUNT_PASSWORD = "root"
ALL_ROLE = "all"

_J = "sos:products:joc:"
_C = "sos:products:controller:"

DEFAULT_ROLES: dict[str, list[str]] = {
    ALL_ROLE: ["sos:products"],
    "administrator": [
        *(_J + p for p in ("administration", "auditlog:view", "calendars:view", "cluster:manage",
                           "dailyplan:view", "documentations:view", "filetransfer:view",
                           "inventory:view", "notification", "others")),
        *(_C + p for p in ("view", "restart", "terminate", "switch_over", "agents:view",
                           "deployment:view", "locks:view", "workflows:view", "orders:view")),
    ],
    "application_manager": [
        *(_J + p for p in ("administration:controllers:view", "administration:customization",
                           "administration:settings", "auditlog:view", "calendars:view",
                           "dailyplan", "documentations", "filetransfer", "inventory",
                           "notification:view")),
        *(_C + p for p in ("view", "agents:view", "deployment", "locks:view", "workflows:view",
                           "orders")),
    ],
    "it_operator": [
        *(_J + p for p in ("administration:customization", "administration:settings:view",
                           "auditlog:view", "calendars:view", "dailyplan", "documentations",
                           "filetransfer", "inventory:view", "notification:view")),
        *(_C + p for p in ("view", "agents:view", "deployment:view", "locks:view",
                           "workflows:view", "orders")),
    ],
    "incident_manager": [
        *(_J + p for p in ("administration:accounts", "administration:customization",
                           "administration:settings", "auditlog:view", "calendars:view",
                           "dailyplan", "documentations", "filetransfer", "inventory",
                           "notification", "others")),
        "sos:products:controller",
    ],
    "business_user": [
        *(_J + p for p in ("administration:customization:view", "auditlog:view",
                           "calendars:view", "dailyplan:view", "documentations:view",
                           "filetransfer:view")),
        *(_C + p for p in ("view", "agents:view", "locks:view", "workflows:view",
                           "orders:view")),
    ],
    "api_user": [
        *(_J + p for p in ("auditlog:view", "calendars:view", "dailyplan:view",
                           "documentations:view", "filetransfer:view")),
        *(_C + p for p in ("view", "agents:view", "deployment:view", "locks:view",
                           "workflows:view", "orders:view")),
    ],
}
