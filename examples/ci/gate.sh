#!/usr/bin/env bash
# The release gate's CI steps, one subcommand per step. The GitHub workflow and the GitLab pipeline both
# call this file, so they stay in sync, and each step runs the same way on a laptop (against ./.shipyard
# unless SHIPYARD_URI names the team's store). See docs/ci.md.
#
#   ./gate.sh train     train and register (or reuse the version trained from these exact inputs);
#                       writes the reference (churn@7) to model-ref.txt
#   ./gate.sh gate      shipyard gate run on that version: report.md, report.html; exit 1 when it blocks
#   ./gate.sh comment   post report.md on the pull / merge request as one comment, updated on every push
#                       (outside CI it prints the comment instead)
#   ./gate.sh promote   on main: promote the version gated for these training inputs to champion; the
#                       store refuses it (exit 1) unless it holds a passing verdict
set -euo pipefail
cd "$(dirname "$0")"

MARKER="<!-- shipyard-gate -->"  # first line of the comment: how the next push finds it to update it

die() { echo "error: $*" >&2; exit 2; }

shared_store() {
  # In CI the store must be the team's: with SHIPYARD_URI empty (a missing secret, or a pull request from a
  # fork, which gets no secrets) a job would gate against a throwaway ./.shipyard and prove nothing.
  if [ -n "${CI:-}" ] && [ -z "${SHIPYARD_URI:-}" ]; then
    die "SHIPYARD_URI is empty: in CI the gate needs the team's shared store. Set the secrets SHIPYARD_URI" \
      "and SHIPYARD_ARTIFACTS (docs/ci.md); pull requests from forks get no secrets."
  fi
}

model_ref() {
  [ -s model-ref.txt ] || die "no model-ref.txt: run ./gate.sh train first."
  cat model-ref.txt
}

train() {
  shared_store
  python train.py
}

gate() {
  shared_store
  local ref status=0
  ref="$(model_ref)"
  rm -f report.md report.html gate.status
  shipyard gate run "$ref" --markdown report.md --html report.html || status=$?
  echo "$status" >gate.status  # read by the comment step, which runs whatever this step's outcome
  return "$status"
}

write_comment() {
  [ -s report.md ] || die "no report.md: the gate did not run (see the gate step's log)."
  local ref
  ref="$(model_ref)"
  {
    echo "$MARKER"
    cat report.md
    echo
    if [ "$(cat gate.status 2>/dev/null)" = 0 ]; then
      echo "✅ Merging promotes $ref to \`champion\`."
    else
      echo "⛔ **Blocked**: $ref cannot become \`champion\`; merging will not promote it. Fix what failed and push" \
        "again (an admin may override it, with a reason, audited)."
    fi
    if [ -n "${REPORT_URL:-}" ]; then
      echo
      echo "HTML report: $REPORT_URL"
    fi
  } >comment.md
}

github_comment() {
  : "${PR_NUMBER:?set PR_NUMBER to the pull request number (the workflow passes github.event.pull_request.number)}"
  : "${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY (owner/name)}"
  local id
  id="$(gh api "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" --paginate --jq \
    ".[] | select(.user.login == \"github-actions[bot]\" and (.body | startswith(\"$MARKER\"))) | .id" | head -n 1)"
  if [ -n "$id" ]; then
    gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F body=@comment.md >/dev/null
    echo "updated the gate's comment on pull request #$PR_NUMBER"
  else
    gh pr comment "$PR_NUMBER" --repo "$GITHUB_REPOSITORY" --body-file comment.md
  fi
}

gitlab_comment() {
  : "${GITLAB_NOTES_TOKEN:?set the CI/CD variable GITLAB_NOTES_TOKEN: a project access token with the api scope (CI_JOB_TOKEN cannot post notes)}"
  : "${CI_MERGE_REQUEST_IID:?not a merge request pipeline: CI_MERGE_REQUEST_IID is not set}"
  local notes="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
  local auth="PRIVATE-TOKEN: $GITLAB_NOTES_TOKEN" id
  id="$(curl --fail --silent --show-error --header "$auth" "$notes?per_page=100" | python -c '
import json, sys
print(next((note["id"] for note in json.load(sys.stdin) if note["body"].startswith(sys.argv[1])), ""))' "$MARKER")"
  if [ -n "$id" ]; then
    curl --fail --silent --show-error --request PUT --header "$auth" --data-urlencode body@comment.md \
      "$notes/$id" >/dev/null
    echo "updated the gate's note on merge request !$CI_MERGE_REQUEST_IID"
  else
    curl --fail --silent --show-error --request POST --header "$auth" --data-urlencode body@comment.md \
      "$notes" >/dev/null
    echo "posted the gate's note on merge request !$CI_MERGE_REQUEST_IID"
  fi
}

comment() {
  write_comment
  if [ -n "${GITHUB_ACTIONS:-}" ]; then
    github_comment
  elif [ -n "${GITLAB_CI:-}" ]; then
    gitlab_comment
  else
    cat comment.md  # on a laptop: what the pull request would show
  fi
}

promote() {
  shared_store
  local ref
  ref="$(python train.py --lookup)"
  # Already champion (promoted before, or by an admin's audited override): nothing to move.
  if shipyard models show "$ref" --json | python -c '
import json, sys
sys.exit("champion" not in json.load(sys.stdin)["aliases"])'; then
    echo "$ref is already champion"
    return 0
  fi
  shipyard promote "$ref" --alias champion
}

case "${1:-}" in
  train | gate | comment | promote) "$1" ;;
  *) die "usage: ./gate.sh train|gate|comment|promote (got '${1:-}'); see the top of $0." ;;
esac
