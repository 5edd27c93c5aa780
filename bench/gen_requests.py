#!/usr/bin/env python3
"""Writes N valid app requests covering every valid pattern combination, for the batch benchmark.

Usage: gen_requests.py OUT_DIR [--count 10000] [--prefix app] [--nas-endpoint URL]
                       [--s3-region REGION] [--zone ZONE] [--internal-zone ZONE]
                       [--always-resources]

The files are YAML (every fourth one JSON, to exercise both readers). Each request gets a unique
app name, so `appforge render --out DIR FILE...` writes one folder per app. Values vary with the
index (sizes, schedules, retention, resources, namespaces, explicit hostnames) so no two
requests render the same bundle. The NAS endpoint, S3 region and zone must belong to the
profile the batch is rendered with (defaults: the shipped default profile).
"""
import argparse
import itertools
import json
import os
import sys

# Volsync backs up a persistent claim, so only persistent storage patterns pair with it.
STORAGE = ["ephemeral", "longhorn-persistent", "nas-mount", "s3-external"]
INGRESS = ["internal-only", "external-via-tunnel"]
BACKUP = ["none", "volsync-snapshots"]
PERSISTENT = {"longhorn-persistent", "nas-mount"}
IMAGES = [
    "ghcr.io/example/app:v1.{i}.0",
    "docker.io/library/nginx:1.27.{i}",
    "registry.example.com:5000/team/svc:build-{i}",
    "traefik/whoami:v1.10.{i}",
]


def combinations():
    """Every (storage, ingress, backup) triple the rules accept."""
    return [c for c in itertools.product(STORAGE, INGRESS, BACKUP) if c[2] == "none" or c[0] in PERSISTENT]


def request(i, combo, args):
    storage, ingress, backup = combo
    name = f"{args.prefix}{i:05d}"
    r = {
        "operatorId": f"user{i % 37}",
        "appName": name,
        "containerImage": IMAGES[i % len(IMAGES)].format(i=i % 100),
        "storagePattern": storage,
        "ingressPattern": ingress,
        "backupStrategy": backup,
    }
    if i % 3 == 0:
        r["namespace"] = f"team-{i % 11}"
    if i % 2 == 0 or args.always_resources:
        r["resourceRequests"] = {"cpu": f"{100 + i % 400}m", "memory": f"{128 + i % 512}Mi"}
    sc = {}
    if storage == "longhorn-persistent":
        sc["sizeGi"] = 1 + i % 200
    if storage == "nas-mount":
        sc["nasEndpoint"] = args.nas_endpoint
        sc["nasSubpath"] = f"{args.nas_root}/{name}"
    if storage == "s3-external":
        sc["s3Bucket"] = f"bucket-{name}"
        sc["s3Region"] = args.s3_region
        sc["s3UseExternalSecrets"] = i % 2 == 0
    if sc:
        r["storageConfig"] = sc
    if backup == "volsync-snapshots" and i % 5 != 0:
        r["backupConfig"] = {"retentionDays": 1 + i % 90, "schedule": f"{i % 60} {i % 24} * * *"}
    if i % 7 == 0:
        key = "externalHostname" if ingress == "external-via-tunnel" else "internalHostname"
        zone = args.zone if ingress == "external-via-tunnel" else args.internal_zone
        r["ingressConfig"] = {key: f"{name}-site.{zone}"}
    return r


def to_yaml(value, indent=0):
    """Tiny block-YAML writer for the request shapes above (all strings double-quoted)."""
    pad = " " * indent
    out = []
    for k, v in value.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k}:\n{to_yaml(v, indent + 2)}")
        elif isinstance(v, bool):
            out.append(f"{pad}{k}: {'true' if v else 'false'}\n")
        elif isinstance(v, int):
            out.append(f"{pad}{k}: {v}\n")
        else:
            out.append(f"{pad}{k}: {json.dumps(v)}\n")
    return "".join(out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--prefix", default="app")
    ap.add_argument("--nas-endpoint", default="nfs://nas.internal:2049")
    ap.add_argument("--nas-root", default="/mnt/apps", help="one of the profile's NAS app roots")
    ap.add_argument("--s3-region", default="eu-central-1")
    ap.add_argument("--zone", default="hypyr.space", help="the profile's public zone")
    ap.add_argument("--always-resources", action="store_true",
                    help="give every request resource requests (profiles with requireResourceRequests)")
    ap.add_argument("--internal-zone", default="internal.hypyr.space", help="the profile's internal zone")
    args = ap.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    combos = combinations()
    for i in range(args.count):
        r = request(i, combos[i % len(combos)], args)
        if i % 4 == 3:
            path, text = os.path.join(args.out_dir, f"{r['appName']}.json"), json.dumps(r, indent=2) + "\n"
        else:
            path, text = os.path.join(args.out_dir, f"{r['appName']}.yaml"), to_yaml(r)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"{args.count} requests ({len(combos)} pattern combinations) in {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
