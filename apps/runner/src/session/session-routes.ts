import { QueueGroups, runnerOwnSubject, Subjects, type RunnerSessionSubject } from '@executor/contracts';
import type { SubjectRoutes } from '@executor/common';

const OWN_ONLY: RunnerSessionSubject[] = [
  Subjects.RunnerSessionExecute,
  Subjects.RunnerSessionFiles,
  Subjects.RunnerSessionClose,
  Subjects.RunnerSessionList,
  Subjects.RunnerSessionContexts,
  Subjects.RunnerSessionProcess,
];

/**
 * Where a runner serves the session calls: a new session's open on the shared queue group (any
 * runner may take it) and on its own subject (the session-service places it there); every call
 * about a session it holds only on its own subject, so it reaches no other runner.
 */
export function sessionRoutes(runnerId: string): SubjectRoutes {
  const routes: SubjectRoutes = {
    [Subjects.RunnerSessionOpen]: [
      { subject: Subjects.RunnerSessionOpen, queue: QueueGroups.Runner },
      { subject: runnerOwnSubject(runnerId, Subjects.RunnerSessionOpen) },
    ],
  };
  for (const subject of OWN_ONLY) routes[subject] = [{ subject: runnerOwnSubject(runnerId, subject) }];
  return routes;
}
