"""Templates of the evidence report, kept in Python so they ship without package-data rules.

HTML is rendered with autoescape on: summaries, rationales and targets may be written by an AI
or an attacker and must never become markup. Markdown cells escape pipes and newlines.
"""

from __future__ import annotations

HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>signoff evidence report {{ r.since[:10] }} to {{ r.until[:10] }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f2f2f2}.ok{color:#1b6e20}.bad{color:#b00020}.none{color:#888}
</style></head><body>
<h1>Evidence report</h1>
<p>Period {{ r.since }} to {{ r.until }}; generated {{ r.generated_at }} by signoff.</p>
<h2>Audit chain</h2>
{% if r.chain.ok %}<p class="ok">Verified: {{ r.chain.events_checked }} events, hash chain
intact, every checkpoint signature valid. The record is tamper-evident.</p>
{% else %}<p class="bad">Verification FAILED at seq {{ r.chain.first_bad.seq }}:
{{ r.chain.first_bad.kind }}: {{ r.chain.first_bad.detail }}</p>{% endif %}
{% if r.chain.latest_checkpoint %}<p>Latest signed checkpoint: seq
{{ r.chain.latest_checkpoint.seq }}, hash <code>{{ r.chain.latest_checkpoint.hash }}</code>,
at {{ r.chain.latest_checkpoint.at }}, key {{ r.chain.latest_checkpoint.kid }}.</p>
{% else %}<p class="none">No signed checkpoint yet.</p>{% endif %}
<h2>Workflows and accountable owners</h2>
<table><tr><th>workflow</th><th>owner</th><th>owner changes in period</th></tr>
{% for w in r.workflows %}<tr><td>{{ w.name }}</td><td>{{ w.owner }}{% if not w.owner_active %}
(inactive){% endif %}</td><td>{% for c in w.changes %}{{ c.at }}: {{ c.from }} &rarr; {{ c.to }}
(by {{ c.by }})<br>{% else %}none{% endfor %}</td></tr>{% endfor %}</table>
<h2>Volume</h2>
<p>{{ r.counts.total }} actions. By mode: {% for m, n in r.counts.by_mode.items() %}{{ m }}
{{ n }}{% if not loop.last %}, {% endif %}{% endfor %}.</p>
{{ tier_chart }}
{{ time_chart }}
<h2>High and critical actions</h2>
<table><tr><th>action</th><th>tier</th><th>status</th><th>approvers</th><th>rationale</th>
<th>time to decision</th><th>outcome</th></tr>
{% for a in r.high %}<tr><td>{{ a.id }}<br>{{ a.workflow }} / {{ a.kind }} &rarr; {{ a.target }}
</td><td>{{ a.tier }}</td><td>{{ a.status }}</td><td>{{ a.approvers|join(", ") or "-" }}
{% if a.rejected_by %}<br>rejected by {{ a.rejected_by|join(", ") }}{% endif %}</td>
<td>{% for t in a.rationales %}{{ t }}<br>{% endfor %}</td>
<td>{{ a.decision_seconds if a.decision_seconds is not none else "-" }} s</td>
<td>{{ a.outcome or "-" }}</td></tr>
{% else %}<tr><td colspan="7" class="none">none in this period</td></tr>{% endfor %}</table>
<h2>Ran without prior approval, and why</h2>
<table><tr><th>action</th><th>why</th><th>post-action review</th><th>outcome</th></tr>
{% for a in r.unapproved %}<tr><td>{{ a.id }} {{ a.workflow }} / {{ a.kind }}</td>
<td>{{ a.why }}</td><td>{{ a.post_review or "not sampled" }}</td><td>{{ a.outcome or "-" }}
</td></tr>{% else %}<tr><td colspan="4" class="none">none</td></tr>{% endfor %}</table>
<h2>Expired, rejected, cancelled and denied work</h2>
<table><tr><th>action</th><th>tier</th><th>status</th><th>when</th></tr>
{% for a in r.ended %}<tr><td>{{ a.id }} {{ a.workflow }} / {{ a.kind }}</td><td>{{ a.tier }}
</td><td>{{ a.status }}</td><td>{{ a.at }}</td></tr>
{% else %}<tr><td colspan="4" class="none">none</td></tr>{% endfor %}</table>
<h2>Suspended agents</h2>
<table><tr><th>when</th><th>agent</th><th>by</th><th>reason</th><th>effect</th></tr>
{% for s in r.suspensions %}<tr><td>{{ s.at }}</td><td>{{ s.agent }}</td><td>{{ s.by }}</td>
<td>{{ s.reason }}</td><td>{{ s.actions_cancelled }} actions cancelled,
{{ s.grants_revoked }} grants revoked</td></tr>
{% else %}<tr><td colspan="5" class="none">none</td></tr>{% endfor %}</table>
<h2>Control mapping</h2>
<p>Statements are abridged from the frameworks named; quoted as attributed. signoff supports
these controls with the evidence listed; for the EU AI Act it supports, it does not establish,
compliance.</p>
<table><tr><th>framework</th><th>id</th><th>what it asks</th><th>what signoff produces</th>
<th>fit</th><th>evidence in this period</th></tr>
{% for c in r.controls %}<tr><td>{{ c.framework }}</td><td>{{ c.id }}</td>
<td>&ldquo;{{ c.statement }}&rdquo; ({{ c.framework }})</td><td>{{ c.produces }}</td>
<td>{{ c.fit }}</td><td class="{{ 'none' if c.evidence == 'no evidence' else '' }}">
{{ c.evidence }}</td></tr>{% endfor %}</table>
</body></html>
"""

MARKDOWN = """# Evidence report

Period {{ r.since }} to {{ r.until }}; generated {{ r.generated_at }} by signoff.

## Audit chain

{% if r.chain.ok %}Verified: {{ r.chain.events_checked }} events, hash chain intact, every \
checkpoint signature valid. The record is tamper-evident.
{% else %}**Verification FAILED** at seq {{ r.chain.first_bad.seq }}: \
{{ r.chain.first_bad.kind }}: {{ r.chain.first_bad.detail|md }}
{% endif %}
{% if r.chain.latest_checkpoint %}Latest signed checkpoint: seq \
{{ r.chain.latest_checkpoint.seq }}, hash `{{ r.chain.latest_checkpoint.hash }}`, at \
{{ r.chain.latest_checkpoint.at }}, key {{ r.chain.latest_checkpoint.kid }}.
{% else %}No signed checkpoint yet.
{% endif %}
## Workflows and accountable owners

| workflow | owner | owner changes in period |
|---|---|---|
{% for w in r.workflows %}| {{ w.name|md }} | {{ w.owner|md }}{% if not w.owner_active %} \
(inactive){% endif %} | {% for c in w.changes %}{{ c.at }}: {{ c.from|md }} -> {{ c.to|md }} \
(by {{ c.by|md }}); {% else %}none{% endfor %} |
{% endfor %}
## Volume

{{ r.counts.total }} actions. By tier: {% for t, n in r.counts.by_tier.items() %}{{ t }} {{ n }}\
{% if not loop.last %}, {% endif %}{% endfor %}. By mode: {% for m, n in \
r.counts.by_mode.items() %}{{ m }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}.

## High and critical actions

| action | tier | status | approvers | time to decision (s) | outcome |
|---|---|---|---|---|---|
{% for a in r.high %}| {{ a.id }} {{ a.workflow|md }} / {{ a.kind|md }} | {{ a.tier }} | \
{{ a.status }} | {{ a.approvers|join(", ")|md or "-" }} | \
{{ a.decision_seconds if a.decision_seconds is not none else "-" }} | {{ a.outcome or "-" }} |
{% else %}| none in this period | | | | | |
{% endfor %}
## Ran without prior approval, and why

| action | why | post-action review | outcome |
|---|---|---|---|
{% for a in r.unapproved %}| {{ a.id }} {{ a.workflow|md }} / {{ a.kind|md }} | {{ a.why }} | \
{{ a.post_review or "not sampled" }} | {{ a.outcome or "-" }} |
{% else %}| none | | | |
{% endfor %}
## Expired, rejected, cancelled and denied work

| action | tier | status | when |
|---|---|---|---|
{% for a in r.ended %}| {{ a.id }} {{ a.workflow|md }} / {{ a.kind|md }} | {{ a.tier }} | \
{{ a.status }} | {{ a.at }} |
{% else %}| none | | | |
{% endfor %}
## Suspended agents

{% for s in r.suspensions %}- {{ s.at }}: {{ s.agent|md }} by {{ s.by|md }} \
({{ s.reason|md }}): {{ s.actions_cancelled }} actions cancelled, {{ s.grants_revoked }} \
grants revoked
{% else %}None.
{% endfor %}
## Control mapping

For the EU AI Act signoff supports the articles listed; it does not establish compliance.

| framework | id | what it asks | what signoff produces | fit | evidence in this period |
|---|---|---|---|---|---|
{% for c in r.controls %}| {{ c.framework }} | {{ c.id }} | "{{ c.statement }}" \
({{ c.framework }}) | {{ c.produces }} | {{ c.fit }} | {{ c.evidence }} |
{% endfor %}"""
