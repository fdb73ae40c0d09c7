import { useEffect, useState } from 'preact/hooks';
import { SandboxWarning } from '../components/SandboxWarning';
import { AttachButton, type Attachment, AttachmentChips, wire } from '../components/Attach';
import { appendDictated, Dictate } from '../components/Dictate';
import { api, describeError, type Profile, type SessionMode } from '../api';
import { ModelField } from '../components/ModelField';
import { profileSummary } from '../components/Profiles';
import { AppBar, ErrorNote } from '../components/ui';
import { modeLabel, MODES } from '../modes';
import { navigate } from '../router';
import { loadHealth, upsertSession, useProject, useStore } from '../store';
import { agentName } from '../agents';
import { choiceOf, cronOf, repeatLabel, type RepeatChoice } from '../cron';
import { SchedulePicker } from '../components/SchedulePicker';

export function NewSession({ projectId }: { projectId: string }) {
  const health = useStore((s) => s.health);
  const project = useProject(projectId);
  // The modes the server offers this person here (a mode that runs calls unasked is for those who could allow them alone);
  // none: they start nothing here.
  const offered = project?.offers?.modes ?? [];
  // The owner's pick, else the first installed agent (from the list remembered from the last visit, at once).
  const [picked, setAgent] = useState<string | null>(null);
  const agent = picked ?? health?.agents.find((a) => a.available)?.id ?? null;
  const [options, setOptions] = useState(false);
  const [model, setModel] = useState('');
  const [pickedMode, setMode] = useState<SessionMode>('ask');
  // What was picked (or a profile's), while offered; else the first offered (ask, for anyone who may start a session).
  const mode: SessionMode = offered.includes(pickedMode) ? pickedMode : offered[0] ?? pickedMode;
  const withheld = MODES.filter((m) => !offered.includes(m.id));
  // The project's default until the owner picks (a project set to work on branches of their own).
  const [ownBranch, setWorktree] = useState<boolean | null>(null);
  const worktree = ownBranch ?? project?.worktreeDefault ?? false;
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [reading, setReading] = useState(false);
  // Now, after the project's other tasks (its backlog), or at the times of a cron expression.
  const [when, setWhen] = useState<'now' | 'backlog' | 'schedule'>('now');
  const [repeat, setRepeat] = useState<RepeatChoice>(() => choiceOf('0 9 * * 1-5'));
  const cron = cronOf(repeat);
  const change = (patch: Partial<RepeatChoice>) => setRepeat((r) => ({ ...r, ...patch }));
  const [timeZone, setTimeZone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [name, setName] = useState('');
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [profile, setProfile] = useState<string | null>(null);

  useEffect(() => {
    api.profiles(projectId).then(setProfiles).catch(() => setProfiles([]));
    void loadHealth();
  }, []);

  // A profile fills in its choices (each can still be changed here); its instructions go with the session.
  const pickProfile = (p: Profile | null) => {
    setProfile(p?.id ?? null);
    if (!p) return;
    setAgent(p.agent);
    setMode(p.mode ?? 'ask');
    setModel(p.model ?? '');
    setWorktree(p.worktree ?? null);
  };

  const start = async (e: Event) => {
    e.preventDefault();
    if (!agent) return;
    setBusy(true);
    setError(null);
    try {
      if (when !== 'now') {
        if (attachments.length) throw new Error('Attachments go with a session started now: a task or schedule takes words only.');
        if (!prompt.trim()) throw new Error('Write what the agent should do: a task starts with it.');
        if (profiles.find((p) => p.id === profile)?.instructions) {
          throw new Error('A profile\'s instructions go with a session started now: a task or schedule takes its agent, mode and model only.');
        }
        const task = { agent, mode, prompt: prompt.trim(), ...(model.trim() ? { model: model.trim() } : {}), worktree };
        if (when === 'backlog') await api.addTask(projectId, task);
        else await api.addSchedule(projectId, { ...task, name: name.trim() || prompt.trim().slice(0, 60), cron: cron.trim(), timeZone: timeZone.trim() });
        navigate(`/p/${projectId}/tasks`, { replace: true });
        return;
      }
      const session = await api.startSession(projectId, {
        agent, mode, ...(prompt.trim() ? { prompt: prompt.trim() } : {}), ...(model.trim() ? { model: model.trim() } : {}),
        ...(attachments.length ? { attachments: wire(attachments) } : {}), worktree, ...(profile ? { profile } : {}),
      });
      upsertSession(session);
      navigate(`/s/${session.id}`, { replace: true });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const chosenProfile = profiles.find((p) => p.id === profile);
  const summaryLine = [
    chosenProfile?.name,
    agent ? agentName(agent) : health ? 'No agent installed' : 'Looking for agents…',
    modeLabel(mode),
    worktree ? 'Own branch' : 'Project folder',
    when === 'now' ? 'Now' : when === 'backlog' ? 'After other tasks' : repeatLabel(repeat),
    model.trim() || undefined,
  ].filter(Boolean).join(' · ');

  return (
    <>
      <AppBar back="/" title="New session" subtitle={project?.name} />
      <main class="page">
        {project && <SandboxWarning project={project} />}
        <form class="stack" onSubmit={start}>
          {/* First what to do: on a phone the prompt must be in view, not under the fold and the button. */}
          <label class="field">
            <span class="field-head">What should it do?
              <span class="row">
                <AttachButton attached={attachments} onAdd={(added) => setAttachments((all) => [...all, ...added])} onReading={setReading} onProblem={setError} />
                <Dictate onText={(words) => setPrompt((p) => appendDictated(p, words))} onProblem={setError} />
              </span></span>
            <textarea name="prompt" rows={4} value={prompt} placeholder="e.g. Fix the failing parser test" onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
          </label>
          <AttachmentChips attachments={attachments} onRemove={(i) => setAttachments((all) => all.filter((_, n) => n !== i))} />
          {/* The choices fold into one line: on a phone the prompt and Start are the first screen, the rest one tap away. */}
          <button type="button" class="options-summary" aria-expanded={options} aria-controls="session-options" onClick={() => setOptions(!options)}>
            <span class="options-summary-text">
              <span class="muted small">Options</span>
              <span data-testid="options-summary">{summaryLine}</span>
            </span>
            <span class="options-summary-go">{options ? 'Done' : 'Change'}</span>
          </button>
          {options && (
            <div class="stack session-options" id="session-options">
              {profiles.length > 0 && (
                <fieldset class="field">
                  <legend>Profile</legend>
                  <div class="choices">
                    <label class="choice">
                      <input type="radio" name="profile" value="" checked={profile === null} onChange={() => pickProfile(null)} />
                      <span class="choice-body"><strong>None</strong><span class="muted small">Choose everything below.</span></span>
                    </label>
                    {profiles.map((p) => (
                      <label key={p.id} class="choice">
                        <input type="radio" name="profile" value={p.id} checked={profile === p.id} onChange={() => pickProfile(p)} />
                        <span class="choice-body"><strong>{p.name}</strong><span class="muted small">{profileSummary(p)}</span></span>
                      </label>
                    ))}
                  </div>
                </fieldset>
              )}
              <fieldset class="field">
                <legend>Agent</legend>
                {!health && <p class="muted">Looking for installed agents…</p>}
                <div class="choices">
                  {/* Installed agents first (in the server's order), then the rest with how to install them. */}
                  {health && installedFirst(health.agents).map((a) => (
                    <label key={a.id} class={`choice${a.available ? '' : ' unavailable'}`}>
                      <input type="radio" name="agent" value={a.id} checked={agent === a.id} disabled={!a.available} onChange={() => { setAgent(a.id); setModel(''); }} />
                      <span class="choice-body">
                        <strong>{agentName(a.id)}</strong>
                        <span class="muted small">{a.available ? (a.version ? `version ${a.version}` : 'installed') : a.detail ?? 'not available'}</span>
                        {a.newerThanChecked && <span class="small newer-than-checked">Newer than checked: {a.newerThanChecked}.</span>}
                      </span>
                    </label>
                  ))}
                </div>
              </fieldset>
              <fieldset class="field">
                <legend>Mode: what runs without asking</legend>
                <div class="choices">
                  {MODES.filter((m) => offered.includes(m.id)).map((m) => (
                    <label key={m.id} class="choice">
                      <input type="radio" name="mode" value={m.id} checked={mode === m.id} onChange={() => setMode(m.id)} />
                      <span class="choice-body"><strong>{modeLabel(m.id)}</strong><span class="muted small">{m.hint}</span></span>
                    </label>
                  ))}
                </div>
                {withheld.length > 0 && offered.length > 0 && (
                  <p class="muted small" data-testid="modes-withheld">
                    Not yours to choose in this project: {withheld.map((m) => modeLabel(m.id)).join(', ')} (each runs calls unasked that you could not allow alone).
                  </p>
                )}
              </fieldset>
              <fieldset class="field">
                <legend>Where it works</legend>
                <div class="choices">
                  <label class="choice">
                    <input type="radio" name="place" value="project" checked={!worktree} onChange={() => setWorktree(false)} />
                    <span class="choice-body"><strong>In the project folder</strong><span class="muted small">Its changes are your working copy's.</span></span>
                  </label>
                  <label class="choice">
                    <input type="radio" name="place" value="worktree" checked={worktree} onChange={() => setWorktree(true)} />
                    <span class="choice-body"><strong>On a branch of its own</strong><span class="muted small">A separate worktree: nothing changes here until you merge it.</span></span>
                  </label>
                </div>
              </fieldset>
              <fieldset class="field">
                <legend>When</legend>
                <div class="choices">
                  <label class="choice">
                    <input type="radio" name="when" value="now" checked={when === 'now'} onChange={() => setWhen('now')} />
                    <span class="choice-body"><strong>Now</strong><span class="muted small">A session starts at once.</span></span>
                  </label>
                  <label class="choice">
                    <input type="radio" name="when" value="backlog" checked={when === 'backlog'} onChange={() => setWhen('backlog')} />
                    <span class="choice-body"><strong>After the project's other tasks</strong><span class="muted small">Waits in the backlog; starts when the one before has finished.</span></span>
                  </label>
                  <label class="choice">
                    <input type="radio" name="when" value="schedule" checked={when === 'schedule'} onChange={() => setWhen('schedule')} />
                    <span class="choice-body"><strong>On a schedule</strong><span class="muted small">Added to the backlog at each time a cron expression gives.</span></span>
                  </label>
                </div>
              </fieldset>
              {when === 'schedule' && (
                <div class="stack">
                  <label class="field">
                    <span>Name</span>
                    <input name="schedule-name" value={name} placeholder={prompt.trim().slice(0, 60) || 'e.g. Nightly dependency check'} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
                  </label>
                  <SchedulePicker choice={repeat} onChange={change} cron={cron} timeZone={timeZone} />
                  <label class="field">
                    <span>Time zone</span>
                    <input name="time-zone" value={timeZone} autoCapitalize="off" spellcheck={false} onInput={(e) => setTimeZone((e.target as HTMLInputElement).value)} />
                  </label>
                </div>
              )}
              <ModelField agent={agent} value={model} onChange={setModel} name="model" />
            </div>
          )}
          <ErrorNote error={error} />
          {project?.offers && offered.length === 0 && (
            <p class="muted small" data-testid="starts-none">You may not start sessions, tasks or schedules in this project: you can read its sessions.</p>
          )}
          <div class="sticky-actions">
            <button class="btn primary block" type="submit" disabled={busy || reading || !agent || offered.length === 0}>{busy ? 'Saving…' : when === 'now' ? 'Start session' : when === 'backlog' ? 'Add to backlog' : 'Add schedule'}</button>
          </div>
        </form>
      </main>
    </>
  );
}

/** The agents installed here first (in the server's order), then the others with how to install them. */
export function installedFirst<T extends { available: boolean }>(agents: readonly T[]): T[] {
  return [...agents.filter((a) => a.available), ...agents.filter((a) => !a.available)];
}
