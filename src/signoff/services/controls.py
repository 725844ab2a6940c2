"""The control map of ``signoff evidence`` (from the project's EVIDENCE.md, Nov 2026).

Each control names the evidence keys that support it; the report prints, per control, what was
found in the period for those keys, or "no evidence". Wording rules: the chain is
"tamper-evident" (never "-proof"); for the EU AI Act signoff "supports" record-keeping and
oversight, it does not make anyone compliant.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTROLS", "Control"]


@dataclass(frozen=True, slots=True)
class Control:
    framework: str
    id: str
    statement: str   # abridged; quoted and attributed in the report
    produces: str    # the evidence signoff produces for it
    fit: str         # direct | partial | weak | supports
    keys: tuple[str, ...]


_C = Control
CONTROLS: tuple[Control, ...] = (
    _C("NIST CSF 2.0", "GV.OC-01", "mission understood, informs risk management",
       "workflow registry with purpose and impact class", "weak", ("workflows",)),
    _C("NIST CSF 2.0", "GV.RR-02", "roles, responsibilities, authorities established and "
       "enforced", "one accountable owner per workflow; refused reviews by ineligible people",
       "direct", ("workflows", "owner_changes", "refusals")),
    _C("NIST CSF 2.0", "GV.RM-06", "standard method to categorise and prioritise risk",
       "tier and matched rule ids on every action", "direct", ("actions",)),
    _C("NIST CSF 2.0", "GV.PO-01/02", "policy established, enforced, reviewed",
       "policy version hash on each decision; policy load/reload history", "direct",
       ("policy_versions",)),
    _C("NIST CSF 2.0", "GV.OV-03", "risk management performance reviewed",
       "approval/denial rates, time to decision, post-review results", "partial",
       ("decisions", "post_reviews")),
    _C("NIST CSF 2.0", "ID.AM-02", "inventories of software and services",
       "registry of agents, tools (MCP), workflows and owners", "direct", ("agents",
                                                                           "workflows")),
    _C("NIST CSF 2.0", "ID.RA-07", "changes and exceptions managed, assessed, recorded, tracked",
       "per-action record: proposal, tier, decision, rationale, outcome", "direct",
       ("actions", "outcomes")),
    _C("NIST CSF 2.0", "PR.AA-01..03", "identities managed, bound to credentials, "
       "authenticated", "distinct identity per agent and per human; auth method on each review",
       "direct", ("reviews",)),
    _C("NIST CSF 2.0", "PR.AA-05", "least privilege, separation of duties",
       "agent scopes; requester != approver; agents never approve", "direct",
       ("reviews", "refusals")),
    _C("NIST CSF 2.0", "PR.PS-04", "log records generated and available for monitoring",
       "JSONL export of the event stream", "direct", ("events",)),
    _C("NIST CSF 2.0", "DE.CM-03", "personnel activity and technology usage monitored",
       "reviewer and agent activity; rubber-stamp warnings", "partial", ("views", "reviews")),
    _C("NIST CSF 2.0", "RS.AN-06/07", "integrity and provenance of records preserved",
       "hash chain, signed checkpoints, verify result", "direct", ("chain", "checkpoints")),
    _C("NIST CSF 2.0", "RS.MI-01", "incidents contained",
       "agent suspensions (kill switch) with actor and time", "partial", ("suspensions",)),
    _C("NIST AI RMF", "GOVERN 1.3", "risk management level set by risk tolerance",
       "tier -> oversight mode mapping", "direct", ("actions",)),
    _C("NIST AI RMF", "GOVERN 1.4", "transparent policies and controls",
       "published policy; decisions traceable to its version", "direct", ("policy_versions",)),
    _C("NIST AI RMF", "GOVERN 1.6", "inventory of AI systems", "agent inventory with owners",
       "direct", ("agents",)),
    _C("NIST AI RMF", "GOVERN 2.1", "roles, responsibilities, lines of communication "
       "documented", "owner, backups, escalation path per workflow", "direct", ("workflows",)),
    _C("NIST AI RMF", "GOVERN 3.2", "roles for human-AI configurations and oversight",
       "who approves what at which tier, per workflow", "direct", ("gated",)),
    _C("NIST AI RMF", "MAP 3.5", "human oversight processes defined and assessed",
       "gate definitions plus review-latency and override figures", "direct", ("decisions",)),
    _C("NIST AI RMF", "MANAGE 1.3", "risk responses documented (accept, mitigate ...)",
       "each approval is a named person's documented acceptance", "direct", ("approvals",)),
    _C("NIST AI RMF", "MANAGE 2.4", "supersede, disengage or deactivate AI systems",
       "denials, overrides, suspensions with named person", "direct",
       ("denials", "rejections", "suspensions")),
    _C("NIST AI RMF", "MANAGE 4.1", "post-deployment monitoring, appeal and override, change "
       "management", "post-action review queue and outcomes", "direct", ("post_reviews",
                                                                        "outcomes")),
    _C("OWASP Agentic 2026", "ASI01", "Agent Goal Hijack", "human approval for high-impact "
       "actions; blocked actions recorded", "direct", ("gated", "denials")),
    _C("OWASP Agentic 2026", "ASI02", "Tool Misuse and Exploitation", "per-call policy gate "
       "(MCP); exact payload shown and bound", "direct", ("actions",)),
    _C("OWASP Agentic 2026", "ASI03", "Identity and Privilege Abuse", "approval for elevation; "
       "grant re-checked at execution", "direct", ("redemptions",)),
    _C("OWASP Agentic 2026", "ASI07", "Insecure Inter-Agent Communication", "recorded agent "
       "chain with a human owner", "partial", ("handoffs",)),
    _C("OWASP Agentic 2026", "ASI08", "Cascading Failures", "gates before propagation; "
       "bulk-approval detection", "partial", ("gated",)),
    _C("OWASP Agentic 2026", "ASI09", "Human-Agent Trust Exploitation", "non-model risk "
       "summary, deception flags, dwell time, rubber-stamp warnings", "direct", ("views",)),
    _C("OWASP Agentic 2026", "ASI10", "Rogue Agents", "kill switch, token revocation, signed "
       "log", "partial", ("suspensions", "checkpoints")),
    _C("OWASP Agentic T&M", "T8, T10", "Repudiation; Overwhelming Human in the Loop",
       "signed attributable log; risk-ordered queues, reviewer load figures", "direct",
       ("checkpoints", "reviews")),
    _C("OWASP LLM 2025", "LLM06", "Excessive Agency", "approval and complete mediation outside "
       "the model", "direct", ("gated",)),
    _C("EU AI Act", "Art. 12", "automatic record-keeping over the lifetime",
       "the audit chain and its retention", "supports", ("events", "chain")),
    _C("EU AI Act", "Art. 14(4)", "overseers can understand, interpret, override, stop",
       "review console, reject, cancel, kill switch", "supports",
       ("reviews", "rejections", "suspensions")),
    _C("EU AI Act", "Art. 26(2),(5),(6)", "competent overseers with authority; monitor, "
       "suspend; keep logs >= 6 months", "named owners, suspensions, retention setting",
       "supports", ("workflows", "suspensions", "events")),
    _C("ISO/IEC 42001", "A.3.2, A.6.2.8, A.9.2", "roles; event logs; responsible-use processes",
       "owner registry, audit log, gate definitions", "direct", ("workflows", "events")),
    _C("SOC 2", "CC8.1", "changes authorised, approved, implemented",
       "approval record linked to the outcome event", "direct", ("approvals", "outcomes")),
    _C("NIST SP 800-53", "AC-5, AU-10, CM-3", "separation of duties; non-repudiation; change "
       "control", "requester != approver; signed decisions; change approvals", "direct",
       ("approvals", "checkpoints")),
)
