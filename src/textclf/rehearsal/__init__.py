"""Rehearsals of the release loop: the workflow files in .github/workflows/ run by nektos/act on
this machine, against the local cloud (textclf.localcloud) and a stand-in for GitHub's API.

- `github`: the stand-in for GitHub (repository, pull requests, comments, issues, dispatches,
  variables, the runner's OIDC token endpoint), served on 127.0.0.1.
- `standins`: what the third-party actions and the runner's CLIs (gh, cml, docker) do here; the
  small actions under tools/stand-ins/ call it.
- `world`: one local cloud, one fake GitHub, the repository's git origin, and `act` runs.
- `scenarios`: the release loop's scenarios, each a run of the workflow files in order.
"""
