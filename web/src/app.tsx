import type { ComponentChildren } from 'preact';
import { Conversations } from './screens/Conversations';
import { BranchDiff, TurnReview } from './screens/TurnReview';
import { AllSessions } from './screens/AllSessions';
import { useEffect, useState } from 'preact/hooks';
import { Loading } from './components/Loading';
import { KeptDecisionsSender } from './components/KeptDecisions';
import { LedgerWarning, OfflineBanner, UpdateBanner } from './components/ui';
import { match, navigate, useRoute } from './router';
import { Devices } from './screens/Devices';
import { FileView, Files } from './screens/Files';
import { Branches, Git, GitDiffView, GitHistory, GitCommitView } from './screens/Git';
import { Home } from './screens/Home';
import { Inbox } from './screens/Inbox';
import { Machines } from './screens/Machines';
import { MachineNewSession, MachineSession } from './screens/MachineSession';
import { NewSession } from './screens/NewSession';
import { linkedPairingCode } from './pairing';
import { Pair } from './screens/Pair';
import { People } from './screens/People';
import { ProjectSettings } from './screens/ProjectSettings';
import { Rules } from './screens/Rules';
import { Run, Terminal } from './screens/Run';
import { SessionScreen } from './screens/Session';
import type { SpeakFlag } from './components/ReadAloud';
import { Tasks } from './screens/Tasks';
import { useStore, waitingForYou } from './store';

export function App() {
  const route = useRoute();
  const auth = useStore((s) => s.auth);
  const loaded = useStore((s) => s.loaded);
  const online = useStore((s) => s.online);

  if (route.path === '/pair' || (auth === 'unpaired' && loaded)) {
    if (auth === 'paired' && route.path === '/pair' && !linkedPairingCode()) {
      queueMicrotask(() => navigate('/', { replace: true }));
    }
    // Keyed by the code: a link opened while the pair screen shows fills it in.
    return <Shell><Pair key={linkedPairingCode() ?? ''} initialCode={linkedPairingCode() ?? ''} /></Shell>;
  }
  if (!loaded) return <Shell><Loading /></Shell>;
  if (auth === 'unknown' && !online) {
    return (
      <Shell>
        <main class="page center">
          <h1 class="big">PocketCoder</h1>
          <p class="muted">This phone is offline and nothing is saved from an earlier visit yet. It connects by itself when the network is back.</p>
        </main>
      </Shell>
    );
  }

  const p = route.path;
  let screen;
  let params: Record<string, string> | null;
  if ((params = match('/s/:id', p))) screen = <SessionScreen key={params.id} id={params.id!} speak={speakFlag(route.query.get('speak'))} />;
  else if ((params = match('/s/:id/branch', p))) screen = <BranchDiff sessionId={params.id!} />;
  else if ((params = match('/s/:id/turn/:turn', p))) screen = <TurnReview sessionId={params.id!} turn={Number(params.turn)} />;
  else if ((params = match('/p/:id/new', p))) screen = <NewSession projectId={params.id!} />;
  else if ((params = match('/p/:id/files', p))) screen = <Files projectId={params.id!} path={route.query.get('path') ?? ''} session={route.query.get('session') ?? undefined} />;
  else if ((params = match('/p/:id/file', p))) screen = <FileView projectId={params.id!} path={route.query.get('path') ?? ''} session={route.query.get('session') ?? undefined} />;
  else if ((params = match('/p/:id/tasks', p))) screen = <Tasks projectId={params.id!} />;
  else if ((params = match('/p/:id/rules', p))) screen = <Rules projectId={params.id!} />;
  else if ((params = match('/p/:id/conversations', p))) screen = <Conversations projectId={params.id!} />;
  else if ((params = match('/p/:id/settings', p))) screen = <ProjectSettings projectId={params.id!} />;
  else if ((params = match('/p/:id/git', p))) screen = <Git projectId={params.id!} session={route.query.get('session') ?? undefined} />;
  else if ((params = match('/p/:id/git/diff', p))) screen = <GitDiffView projectId={params.id!} path={route.query.get('path') ?? ''} staged={route.query.get('staged') === 'true'} session={route.query.get('session') ?? undefined} />;
  else if ((params = match('/p/:id/git/branches', p))) screen = <Branches projectId={params.id!} />;
  else if ((params = match('/p/:id/git/log', p))) screen = <GitHistory projectId={params.id!} session={route.query.get('session') ?? undefined} />;
  else if ((params = match('/p/:id/git/commit', p))) screen = <GitCommitView projectId={params.id!} sha={route.query.get('sha') ?? ''} session={route.query.get('session') ?? undefined} />;
  else if ((params = match('/p/:id/run', p))) screen = <Run projectId={params.id!} />;
  else if ((params = match('/p/:id/terminal', p))) screen = <Terminal projectId={params.id!} session={route.query.get('session') ?? undefined} />;
  else if (match('/inbox', p)) screen = <Inbox />;
  else if (match('/devices', p)) screen = <Devices />;
  else if (match('/people', p)) screen = <People />;
  else if (match('/costs', p)) screen = <LazyCosts />;
  else if (match('/machines', p)) screen = <Machines />;
  else if ((params = match('/m/:machine/s/:id', p))) screen = <MachineSession key={params.id} machineId={params.machine!} sessionId={params.id!} />;
  else if ((params = match('/m/:machine/p/:id/new', p))) screen = <MachineNewSession machineId={params.machine!} projectId={params.id!} />;
  else if (match('/sessions', p)) screen = <AllSessions query={route.query.get('q') ?? ''} />;
  else screen = <Home />;
  return <Shell>{screen}</Shell>;
}

/** A notification's tap asks to read the reply or the waiting call aloud (build/sw.ts); anything else asks nothing. */
const speakFlag = (value: string | null): SpeakFlag | null => (value === 'reply' || value === 'call' ? value : null);

/** The costs screen comes in its own chunk: few open it, and the first load stays small. */
function LazyCosts() {
  const [screen, setScreen] = useState<typeof import('./screens/Costs') | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    import('./screens/Costs').then(setScreen, () => setFailed(true));
  }, []);
  if (failed) return <main class="page"><p class="muted">The costs screen could not be loaded. Check the connection and reload.</p></main>;
  return screen ? <screen.Costs /> : <Loading />;
}

function Shell({ children }: { children: ComponentChildren }) {
  // The tab's count is the badge's: the calls that wait for this person, on every machine.
  const waiting = useStore(waitingForYou);
  useEffect(() => {
    document.title = waiting > 0 ? `(${waiting}) PocketCoder` : 'PocketCoder';
  }, [waiting]);
  return (
    <>
      <OfflineBanner />
      <UpdateBanner />
      <LedgerWarning />
      <KeptDecisionsSender />
      {children}
    </>
  );
}
