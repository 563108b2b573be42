"""What a person reads for an audit action code: one table for every page (the audit list,
the job's timeline, the sign-off report). The codes stay in the database and in exports."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

ACTION_LABELS = {
    # jobs and steps
    "job.create": gettext_lazy("job created"),
    "phase.verify": gettext_lazy("phase verification requested"),
    "step.run": gettext_lazy("step run requested"),
    "step.retry": gettext_lazy("step retry requested"),
    "step.simulate": gettext_lazy("simulation requested"),
    "step.finished": gettext_lazy("step finished"),
    "step.tick": gettext_lazy("step ticked by hand"),
    "step.skip": gettext_lazy("step skipped"),
    "step.approve": gettext_lazy("step approved"),
    "step.reopen": gettext_lazy("step reopened"),
    "run.cancel": gettext_lazy("cancellation requested"),
    # data and cut-over
    "data.mirror": gettext_lazy("data copied (mirror)"),
    "data.server_register.remove": gettext_lazy("old server removed from server.register"),
    "data.services.copy": gettext_lazy("services' data copied"),
    "source.freeze": gettext_lazy("old server frozen"),
    "source.unfreeze": gettext_lazy("old server unfrozen"),
    "cutover.retire_old": gettext_lazy("old server retired"),
    # FSE and SMS
    "fse.snapshot": gettext_lazy("FSE snapshot (pxdatas) taken"),
    "fse.verify": gettext_lazy("FSE data checked"),
    "fse.equality_proven": gettext_lazy("FSE data proven identical"),
    "fse.decision.request": gettext_lazy("pxdatas decision requested"),
    "fse.decision.withdraw": gettext_lazy("pxdatas decision withdrawn"),
    "sms.snapshot": gettext_lazy("SMS database snapshot taken"),
    "sms.copy": gettext_lazy("SMS database copied"),
    "sms.restore": gettext_lazy("SMS database restored"),
    "sms.db": gettext_lazy("SMS database handled"),
    # the new server
    "target.admin_rights.fix": gettext_lazy("administrator rights fixed"),
    "target.antivirus.apply": gettext_lazy("antivirus exclusions applied"),
    "target.firewall.apply": gettext_lazy("firewall rules applied"),
    "target.share.apply": gettext_lazy("data share set up"),
    # incidents
    "incident.open": gettext_lazy("incident opened"),
    "incident.note": gettext_lazy("note added to an incident"),
    "incident.close": gettext_lazy("incident closed"),
    # directory and machines
    "customer.create": gettext_lazy("customer created"),
    "customer.change": gettext_lazy("customer changed"),
    "cabinet.create": gettext_lazy("practice created"),
    "site.create": gettext_lazy("site created"),
    "site.change": gettext_lazy("site changed"),
    "machine.create": gettext_lazy("machine created"),
    "machine.change": gettext_lazy("machine changed"),
    "machine.test_connection": gettext_lazy("connection tested"),
    "machine.host_key_confirm": gettext_lazy("host key confirmed"),
    # credentials and security
    "credential.create": gettext_lazy("credential created"),
    "credential.change": gettext_lazy("credential changed"),
    "credential.rotate": gettext_lazy("credentials re-encrypted (key rotation)"),
    "capture.export": gettext_lazy("field captures downloaded"),
    "login": gettext_lazy("signed in"),
    "login.failed": gettext_lazy("failed sign-in"),
    # card readers
    "readers.token.issue": gettext_lazy("card-reader agent token issued"),
    "readers.token.revoke": gettext_lazy("card-reader agent token revoked"),
}


def action_label(code: str) -> str:
    """The label of an action code in the current language. Codes built from a step key
    (data.<key>.copy, <step>.map_drive) are named after the step; an unknown code is never
    shown raw: it reads « other action »."""
    if code in ACTION_LABELS:
        return str(ACTION_LABELS[code])
    from migrations_app.steps.registry import REGISTRY

    head, _dot, tail = code.rpartition(".")
    if tail == "copy" and head.startswith("data."):
        return _("data copied: %(what)s") % {"what": head.removeprefix("data.")}
    if tail == "map_drive" and head in REGISTRY:
        return _("network drive mapped (%(step)s)") % {"step": REGISTRY[head].title}
    return _("other action")
