import { useEffect, useState } from 'preact/hooks';
import { api, describeError, type Project, type Session } from '../api';
import { AppBar, Empty, ErrorNote, Icon, StatusBadge, timeAgo } from '../components/ui';
import { FolderPicker } from '../components/FolderPicker';
import { ResourcesPanel } from '../components/Resources';
import { linkTo, navigate } from '../router';
import { dismissPushOffer, shouldOfferPush } from '../push';
import { refresh, setState, useOwner, useStore } from '../store';
import { splitPending, waitingForOthers } from '../offers';
import { agentName } from '../agents';
import { needsYouFirst } from '../inbox';
import { MachineBadge } from '../components/MachineBadge';
import type { MachineView } from '../machines';

const SHOWN = 5;

export function Home() {
  const projects = useStore((s) => s.projects);
  const sessions = useStore((s) => s.board.sessions);
  const pending = useStore((s) => s.board.pending);
  // What waits for this person (the server offers them to allow or answer it) leads; what waits for others is said, quietly.
  const machines = useStore((s) => s.machines);
  // What waits for this person on any machine leads (the inbox has them all, each with its machine's badge).
  const { mine: mineHere, others } = splitPending(pending);
  const mine = [...mineHere, ...machines.flatMap((m) => splitPending(m.board.pending).mine)];
  // Adding a project is an owner's (their own role, the server's word about them); offered once that is known.
  const owner = useOwner() === true;

  return (
    <>
      <AppBar
        title="PocketCoder"
        actions={<>
          <a class="icon-btn" aria-label="All sessions" {...linkTo('/sessions')}><Icon name="search" /></a>
          <a class="icon-btn" aria-label="People" {...linkTo('/people')}><Icon name="people" /></a>
          <a class="icon-btn" aria-label="Devices" {...linkTo('/devices')}><Icon name="devices" /></a>
          <a class="icon-btn" aria-label="Machines" {...linkTo('/machines')}><Icon name="terminal" /></a>
        </>}
      />
      <main class="page">
        {mine.length > 0 && (
          <a class="pending-banner" {...linkTo('/inbox')}>
            <Icon name="shield" />
            <span><strong>{mine.length === 1 ? '1 approval' : `${mine.length} approvals`}</strong> waiting for you</span>
            <span class="pending-go">Review <Icon name="chevron" size={18} /></span>
          </a>
        )}
        {mine.length === 0 && others.length > 0 && (
          <a class="pending-banner others" data-testid="waiting-for-others" {...linkTo(`/s/${others[0]!.sessionId}#approval-${others[0]!.approvalId}`)}>
            <Icon name="shield" />
            <span><strong>{others.length === 1 ? '1 approval' : `${others.length} approvals`}</strong>: {waitingForOthers(others)}</span>
            <span class="pending-go">View <Icon name="chevron" size={18} /></span>
          </a>
        )}
        <NotifyHint />
        {projects.length === 0 && (
          <Empty>
            <p><strong>No projects yet.</strong></p>
            <p>Add the folder of a repository on the computer running PocketCoder, then start an agent in it.</p>
          </Empty>
        )}
        {projects.map((project) => (
          <ProjectCard key={project.id} project={project}
            sessions={needsYouFirst(Object.values(sessions).filter((s) => s.projectId === project.id).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)), pending)} />
        ))}
        {machines.map((m) => <MachineCard key={m.machine.id} view={m} />)}
        {projects.length > 0 && <ResourcesPanel owner={owner} />}
        {owner && <AddProject />}
      </main>
    </>
  );
}

function ProjectCard({ project, sessions: everything }: { project: Project; sessions: Session[] }) {
  // What the caller may do here, as the server offers it: none of it while not known.
  const starts = (project.offers?.modes.length ?? 0) > 0;
  const shell = project.offers?.shell === true;
  const [all, setAll] = useState(false);
  const [archived, setArchived] = useState(false);
  // Archived sessions stay out of the way, one tap from view.
  const hidden = everything.filter((s) => s.archivedAt).length;
  const sessions = archived ? everything : everything.filter((s) => !s.archivedAt);
  const shown = all ? sessions : sessions.slice(0, SHOWN);
  return (
    <section class="card project" data-project={project.name}>
      <div class="project-head">
        <div class="project-name">
          <h2>{project.name}</h2>
          <div class="path" title={project.path}>{project.path}</div>
        </div>
        {starts && <a class="btn primary small" {...linkTo(`/p/${project.id}/new`)}><Icon name="plus" size={18} /> Session</a>}
      </div>
      {shown.length > 0 && (
        <ul class="session-list">
          {shown.map((s) => (
            <li key={s.id}>
              <a class="session-row" {...linkTo(`/s/${s.id}`)}>
                <span class="session-title" title={s.title ?? undefined}>{s.shortTitle || s.title || 'Untitled session'}</span>
                <span class="session-meta"><StatusBadge status={s.status} sessionId={s.id} />{s.archivedAt && <span class="badge badge-idle">Archived</span>}<span class="muted small">{agentName(s.agent)}{s.startedBy ? ` · ${s.startedBy}` : ''} · {timeAgo(s.updatedAt)}</span></span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {sessions.length > SHOWN && !all && <button class="link-btn" onClick={() => setAll(true)}>Show all {sessions.length} sessions</button>}
      {hidden > 0 && (
        <button class="link-btn" onClick={() => setArchived(!archived)}>{archived ? 'Hide archived' : `Show ${hidden} archived`}</button>
      )}
      <div class="project-tools">
        <a class="chip-btn" {...linkTo(`/p/${project.id}/files`)}><Icon name="folder" size={18} /> Files</a>
        <a class="chip-btn" {...linkTo(`/p/${project.id}/git`)}><Icon name="branch" size={18} /> Git</a>
        {shell && <a class="chip-btn" {...linkTo(`/p/${project.id}/run`)}><Icon name="play" size={18} /> Run</a>}
        {shell && <a class="chip-btn" {...linkTo(`/p/${project.id}/terminal`)}><Icon name="terminal" size={18} /> Terminal</a>}
        <a class="chip-btn" {...linkTo(`/p/${project.id}/conversations`)}><Icon name="history" size={18} /> Conversations</a>
        <a class="chip-btn" {...linkTo(`/p/${project.id}/tasks`)}><Icon name="plan" size={18} /> Tasks</a>
        <a class="chip-btn" {...linkTo(`/p/${project.id}/rules`)}><Icon name="shield" size={18} /> Rules</a>
        <a class="chip-btn" {...linkTo(`/p/${project.id}/settings`)}><Icon name="other" size={18} /> Settings</a>
      </div>
    </section>
  );
}

/**
 * Another machine the app holds: its sessions, "needs you" first, with its badge and whether it answers. Its calls are
 * decided in the inbox; its sessions open on that machine's own app.
 */
function MachineCard({ view }: { view: MachineView }) {
  const sessions = needsYouFirst(Object.values(view.board.sessions).filter((s) => !s.archivedAt).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)), view.board.pending);
  const projectName = (id: string) => view.projects.find((p) => p.id === id)?.name ?? '';
  return (
    <section class="card project" data-testid="machine-card" data-machine={view.machine.name} data-status={view.status}>
      <div class="project-head">
        <div class="project-name"><h2><MachineBadge view={view} /></h2><div class="path">{view.machine.origin}</div></div>
      </div>
      {view.status === 'offline' && <p class="muted small" role="status">Does not answer now: shown as it last was. The other machines carry on.</p>}
      {view.status === 'revoked' && <p class="muted small" role="status">This phone was signed out there. Add the machine again from Machines.</p>}
      <ul class="session-list">
        {sessions.slice(0, SHOWN).map((s) => (
          <li key={s.id}>
            <a class="session-row" data-session={s.id} {...linkTo(`/m/${view.machine.id}/s/${s.id}`)}>
              <span class="session-title" title={s.title ?? undefined}>{s.shortTitle || s.title || 'Untitled session'}</span>
              <span class="session-meta"><StatusBadge status={s.status} /><span class="muted small">{projectName(s.projectId)} · {agentName(s.agent)} · {timeAgo(s.updatedAt)}</span></span>
            </a>
          </li>
        ))}
      </ul>
      {view.status === 'online' && view.projects.length > 0 && (
        <div class="project-tools">
          {view.projects.map((p) => (
            <a key={p.id} class="chip-btn" {...linkTo(`/m/${view.machine.id}/p/${p.id}/new`)}><Icon name="plus" size={18} /> Session in {p.name}</a>
          ))}
        </div>
      )}
    </section>
  );
}

function AddProject() {
  const [open, setOpen] = useState(false);
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!open) {
    return <button class="btn ghost block add-project" onClick={() => setOpen(true)}><Icon name="plus" /> Add project</button>;
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const project = await api.addProject(path.trim());
      setState({});
      await refresh();
      setOpen(false);
      setPath('');
      navigate(`/p/${project.id}/new`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card stack add-project-form" onSubmit={submit}>
      <h2 class="card-title">Add a project</h2>
      <FolderPicker picked={path.trim()} onPick={setPath} />
      <label class="field">
        <span>Or type the folder's path on the computer</span>
        <input name="path" value={path} placeholder="~/code/app" autoCapitalize="off" autoCorrect="off" spellcheck={false} required
          onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
      </label>
      <ErrorNote error={error} />
      <div class="row sticky-actions">
        <button type="button" class="btn ghost" onClick={() => setOpen(false)}>Cancel</button>
        <button type="submit" class="btn primary grow" disabled={busy || !path.trim()}>{busy ? 'Adding…' : 'Add project'}</button>
      </div>
    </form>
  );
}

/**
 * After the owner has answered a question here, and only then, offers to be told about the next one. Not on first load:
 * a permission prompt with no context gets "Block", and a blocked site cannot ask again.
 */
function NotifyHint() {
  const [show, setShow] = useState(false);
  useEffect(() => {
    if (!shouldOfferPush()) return;
    void api.notifications().then((n) => setShow(n.channels.length === 0), () => {});
  }, []);
  if (!show) return null;
  const dismiss = () => {
    dismissPushOffer();
    setShow(false);
  };
  return (
    <div class="notify-hint" role="note">
      <span>Get a notification when an agent asks you something, even with the app closed.</span>
      <div class="row">
        <a class="btn primary small" {...linkTo('/devices')}>Set up</a>
        <button class="btn ghost small" onClick={dismiss}>Not now</button>
      </div>
    </div>
  );
}
