import { useEffect, useState } from 'preact/hooks';
import { SandboxWarning } from '../components/SandboxWarning';
import { AttachButton, type Attachment, AttachmentChips, wire } from '../components/Attach';
import { appendDictated, Dictate } from '../components/Dictate';
import { api, describeError, type Profile, type SessionMode } from '../api';
import { profileSummary } from '../components/Profiles';
import { AppBar, ErrorNote } from '../components/ui';
import { modeLabel, MODES } from '../events';
import { navigate } from '../router';
import { loadHealth, upsertSession, useStore } from '../store';
import { agentName } from './Home';

// Model names each agent understands; free text is accepted too (blank = the agent's default).
const MODELS: Record<string, string[]> = {
  'claude-code': ['sonnet', 'opus', 'haiku'],
  codex: ['gpt-5-codex', 'gpt-5'],
  gemini: ['gemini-2.5-pro', 'gemini-2.5-flash'],
};

export function NewSession({ projectId }: { projectId: string }) {
  const health = useStore((s) => s.health);
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [agent, setAgent] = useState<string | null>(null);
  const [model, setModel] = useState('');
  const [mode, setMode] = useState<SessionMode>('ask');
  // The project's default until the owner picks (a project set to work on branches of their own).
  const [picked, setWorktree] = useState<boolean | null>(null);
  const worktree = picked ?? project?.worktreeDefault ?? false;
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [reading, setReading] = useState(false);
  // Now, after the project's other tasks (its backlog), or at the times of a cron expression.
  const [when, setWhen] = useState<'now' | 'backlog' | 'schedule'>('now');
  const [cron, setCron] = useState('0 9 * * 1-5');
  const [timeZone, setTimeZone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [name, setName] = useState('');
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [profile, setProfile] = useState<string | null>(null);

  useEffect(() => {
    api.profiles(projectId).then(setProfiles).catch(() => setProfiles([]));
    void loadHealth().then((h) => {
      const first = h?.agents.find((a) => a.available);
      setAgent((current) => current ?? first?.id ?? null);
    });
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
            <textarea name="prompt" rows={4} value={prompt} placeholder="e.g. Fix the failing test in src/parser" onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
          </label>
          <AttachmentChips attachments={attachments} onRemove={(i) => setAttachments((all) => all.filter((_, n) => n !== i))} />
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
              {health?.agents.map((a) => (
                <label key={a.id} class={`choice${a.available ? '' : ' unavailable'}`}>
                  <input type="radio" name="agent" value={a.id} checked={agent === a.id} disabled={!a.available} onChange={() => setAgent(a.id)} />
                  <span class="choice-body">
                    <strong>{agentName(a.id)}</strong>
                    <span class="muted small">{a.available ? (a.version ? `version ${a.version}` : 'installed') : a.detail ?? 'not available'}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <fieldset class="field">
            <legend>Mode: what runs without asking</legend>
            <div class="choices">
              {MODES.map((m) => (
                <label key={m.id} class="choice">
                  <input type="radio" name="mode" value={m.id} checked={mode === m.id} onChange={() => setMode(m.id)} />
                  <span class="choice-body"><strong>{modeLabel(m.id)}</strong><span class="muted small">{m.hint}</span></span>
                </label>
              ))}
            </div>
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
              <label class="field">
                <span>Cron <span class="muted">(minute hour day month weekday)</span></span>
                <input name="cron" class="mono" value={cron} autoCapitalize="off" spellcheck={false} list="cron-presets" onInput={(e) => setCron((e.target as HTMLInputElement).value)} />
                <datalist id="cron-presets">
                  <option value="0 9 * * 1-5">Weekdays at 09:00</option>
                  <option value="0 2 * * *">Every night at 02:00</option>
                  <option value="0 * * * *">Every hour</option>
                  <option value="0 8 * * 1">Mondays at 08:00</option>
                </datalist>
              </label>
              <label class="field">
                <span>Time zone</span>
                <input name="time-zone" value={timeZone} autoCapitalize="off" spellcheck={false} onInput={(e) => setTimeZone((e.target as HTMLInputElement).value)} />
              </label>
            </div>
          )}
          <label class="field">
            <span>Model <span class="muted">(blank for the agent's default)</span></span>
            <input name="model" list="models" value={model} autoCapitalize="off" spellcheck={false} onInput={(e) => setModel((e.target as HTMLInputElement).value)} />
            <datalist id="models">{(MODELS[agent ?? ''] ?? []).map((m) => <option key={m} value={m} />)}</datalist>
          </label>
          <ErrorNote error={error} />
          <div class="sticky-actions">
            <button class="btn primary block" type="submit" disabled={busy || reading || !agent}>{busy ? 'Saving…' : when === 'now' ? 'Start session' : when === 'backlog' ? 'Add to backlog' : 'Add schedule'}</button>
          </div>
        </form>
      </main>
    </>
  );
}
