"""Write a synthetic large ops repository: 200 people, 50 teams, 50 rotations, 1,000 pipelines,
2,000 time-off entries, a catalog per team and a runbook note per service; ``--scale N``
multiplies every count by N (``--scale 10``: 10,000 pipelines).

    python bench/generate_org.py bench/_work/large [--seed 7] [--scale 1]

Deterministic for a seed and a scale. Prints what it wrote.
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

import yaml

COUNTRIES = [
    ("DE", "BE", "Europe/Berlin"),
    ("US", "IL", "America/Chicago"),
    ("US", "CA", "America/Los_Angeles"),
    ("IN", "KA", "Asia/Kolkata"),
    ("TR", None, "Europe/Istanbul"),
    ("IL", None, "Asia/Jerusalem"),
    ("ES", "MD", "Europe/Madrid"),
    ("JP", None, "Asia/Tokyo"),
    ("BR", "SP", "America/Sao_Paulo"),
    (None, None, "UTC"),
]
CATEGORIES = ["data-source", "processing", "infrastructure", "dependency", "unexpected-data-change"]
TIERS = ["investor-facing", "business-critical", "experiment", "internal"]


PEOPLE, TEAMS, PIPELINES, TIME_OFF = 200, 50, 1000, 2000
"""The counts at scale 1 (the "large org")."""


def scaled_root(scale: int) -> Path:
    """Where the benchmarks keep the org of a scale: bench/_work/large for 1, large-3x for 3, …"""
    work = Path(__file__).parent / "_work"
    return work / ("large" if scale == 1 else f"large-{scale}x")


def ensure(scale: int) -> Path:
    """The org of ``scale`` under bench/_work, generated when it is not there yet."""
    root = scaled_root(scale)
    if not (root / "ownership.yaml").exists():
        generate(root, scale=scale)
    return root


def generate(
    root: Path,
    seed: int = 7,
    people: int = PEOPLE,
    teams: int = TEAMS,
    pipelines: int = PIPELINES,
    time_off: int = TIME_OFF,
    *,
    scale: int = 1,
) -> None:
    people, teams, pipelines, time_off = people * scale, teams * scale, pipelines * scale, time_off * scale
    rng = random.Random(seed)
    per_team = people // teams
    person_rows = []
    for i in range(people):
        country, subdivision, zone = COUNTRIES[i % len(COUNTRIES)]
        row: dict[str, object] = {
            "id": f"p{i:03d}",
            "name": f"Person {i:03d}",
            "email": f"p{i:03d}@example.com",
            "timezone": zone,
        }
        if country:
            row["country"] = country
            if subdivision:
                row["subdivision"] = subdivision
        person_rows.append(row)
    team_rows = []
    for t in range(teams):
        members = [f"p{t * per_team + j:03d}" for j in range(per_team)]
        team_rows.append(
            {
                "id": f"team-{t:02d}",
                "name": f"Team {t:02d}",
                "members": members,
                "lead": members[0],
                "slack_channel": f"#team-{t:02d}",
                "description": f"Runs the pipelines of domain {t:02d}.",
                "handles": ["Late data", "Failed runs"],
            }
        )
    pipeline_rows = []
    for p in range(pipelines):
        team = team_rows[p % teams]
        members = team["members"]
        assert isinstance(members, list)
        primary = members[(p // teams) % len(members)]
        secondary = members[(p // teams + 1) % len(members)]
        pipeline_rows.append(
            {
                "id": f"pipeline_{p:04d}",
                "name": f"Pipeline {p:04d}",
                "team": team["id"],
                "primary": primary,
                "secondary": secondary,
                "tier": TIERS[p % len(TIERS)],
                "freshness_sla": rng.choice(["1h", "4h", "6h", "1d"]),
                "description": f"Builds dataset {p:04d} for reporting.",
                "schedule": "0 * * * *",
                "alerts": {
                    "dag_ids": [f"pipeline_{p:04d}"],
                    "labels": {"pipeline": f"pipeline_{p:04d}"},
                    "aliases": [f"p{p:04d}"],
                },
                "data_sources": [{"name": f"Source {p % 37}", "kind": "database", "description": "Nightly snapshot."}],
                "transformations": ["Deduplicate by key.", "Join the dimension tables.", "Aggregate by day."],
                "validation_checks": ["Row count within 20% of last week.", "No null keys."],
                "alerting": ["Task failure pages the owners."],
                "monitoring": [{"name": "Dashboard", "url": f"https://grafana.example.com/d/p{p:04d}"}],
                "failure_modes": [
                    {
                        "title": f"Failure mode {k}",
                        "category": CATEGORIES[(p + k) % len(CATEGORIES)],
                        "symptoms": "The run fails.",
                        "first_steps": ["Read the log.", "Re-run the task."],
                    }
                    for k in range(3)
                ],
            }
        )
    write(
        root / "ownership.yaml",
        {"settings": {"default_team": "team-00"}, "people": person_rows, "teams": team_rows, "pipelines": pipeline_rows},
    )
    start = date(2025, 1, 6)
    for t, team in enumerate(team_rows):
        write(
            root / "rotations" / f"team-{t:02d}-oncall.yaml",
            {
                "id": f"team-{t:02d}-oncall",
                "team": team["id"],
                "members": team["members"],
                "shift": "1w" if t % 5 else "1d",
                "handoff": "09:00",
                "timezone": COUNTRIES[t % len(COUNTRIES)][2],
                "start": (start + timedelta(weeks=t % 4)).isoformat(),
                "depth": 2,
                "public_holidays": True,
            },
        )
    entries = []
    first_day = date(2026, 1, 1)
    for i in range(time_off):
        begin = first_day + timedelta(days=rng.randrange(0, 730))
        entries.append(
            {
                "person": f"p{i % people:03d}",
                "start": begin.isoformat(),
                "end": (begin + timedelta(days=rng.choice([0, 1, 2, 4]))).isoformat(),
                "reason": "Vacation",
            }
        )
    write(root / "rotations" / "time_off.yaml", {"time_off": entries})
    write(root / "rotations" / "overrides.yaml", {"overrides": []})
    for t, team in enumerate(team_rows):
        service = f"service-{t:02d}"
        write(
            root / "service_catalog" / f"team-{t:02d}.yaml",
            {
                "team": team["id"],
                "summary": f"Data products of domain {t:02d}.",
                "stakeholders": ["Analytics"],
                "intake": [{"kind": "slack", "target": f"#team-{t:02d}"}],
                "escalation": [{"who": "On-call", "rotation": f"team-{t:02d}-oncall", "after": "0m"}],
                "services": [
                    {
                        "id": service,
                        "name": f"Service {t:02d}",
                        "description": "Curated tables.",
                        "sla": {"response": "30m", "resolution": "4h"},
                        "runbook": f"runbooks/services/{service}.md",
                    }
                ],
            },
        )
        note = root / "runbooks" / "services" / f"{service}.md"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"# Service {t:02d}\n\nRe-run the failed load once the source answers.\n", encoding="utf-8")


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=int, default=1, help="Multiply every count by this (10: 10,000 pipelines).")
    args = parser.parse_args()
    generate(args.root, args.seed, scale=args.scale)
    n = args.scale
    print(
        f"wrote a synthetic org to {args.root}: {PEOPLE * n} people, {TEAMS * n} teams, {TEAMS * n} rotations, "
        f"{PIPELINES * n} pipelines, {TIME_OFF * n} time-off entries"
    )


if __name__ == "__main__":
    main()
