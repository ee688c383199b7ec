"""conf/grafana/egressd.json: every query is valid PromQL (promtool check rules
on the expressions, Grafana's variables replaced) and names only metrics egressd
exports (the families controlplane/metrics.cpp writes).

Usage: check_dashboard.py PROMTOOL SOURCE_ROOT
"""
import json
import os
import re
import subprocess
import sys
import tempfile

promtool, root = sys.argv[1], sys.argv[2]
with open(os.path.join(root, "conf", "grafana", "egressd.json")) as f:
    dash = json.load(f)
with open(os.path.join(root, "controlplane", "metrics.cpp")) as f:
    exported = set(re.findall(r'"(egress_[a-z0-9_]+)"', f.read()))

exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
exprs += [a["expr"] for a in dash["annotations"]["list"]]
unknown = sorted({m for e in exprs for m in re.findall(r"\b(egress_[a-z0-9_]+)", e)} - exported)
if unknown:
    sys.exit(f"dashboard names metrics egressd does not export: {', '.join(unknown)}")

variables = {"$__rate_interval": "5m", "$__range": "1h", "$instance": ".*"}
rules = []
for i, e in enumerate(exprs):
    for k, v in variables.items():
        e = e.replace(k, v)
    rules.append({"record": f"dashboard:query_{i}", "expr": e})
with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)  # JSON is YAML
try:
    p = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True, timeout=60)
finally:
    os.unlink(f.name)
if p.returncode != 0:
    sys.exit(f"promtool rejects a dashboard query:\n{p.stdout}{p.stderr}")
print(f"{len(exprs)} dashboard queries valid")
