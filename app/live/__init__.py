"""Live grading: run an answer on the local cluster and check what the cluster did.

The package sits above `app.cluster` (providers, the API client) and
`app.grading` (the offline engine), and below the front ends. The steps of one
attempt (`app.live.attempt.grade_live`):

1. the offline report comes first (the caller's, or graded here);
2. the documents are screened (`app.live.safety`): allowed, namespaced kinds
   only, no host access, at most 50 objects; any refusal applies nothing;
3. a fresh namespace `kprep-<scenario>-<random>` labelled as kprep's
   (`app.cluster.namespaces`);
4. a server-side dry run of every document: the API server's errors and
   warnings become diagnostics at the line of the field they name
   (`app.live.apierrors`);
5. the real apply (each provider may rewrite the manifest so it can really run:
   `Provider.runnable`), then a bounded wait until every pod the answer's
   objects should create is placed or refused (`app.live.observe`);
6. the scenario's live checks in CEL over `objects`, `pods`, `nodes`, `events`,
   with the scheduler's reasons as advice (`app.live.verdict`, `app.live.advice`);
7. the namespace is deleted (also on errors and Ctrl-C) unless `keep`.

`app.live.connect` finds the cluster; `app.live.service` is what the terminal
app calls.
"""
