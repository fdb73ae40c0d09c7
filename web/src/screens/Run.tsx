import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError, type CommandRun, type TerminalScreen } from '../api';
import { AppBar, ErrorNote, Icon, timeAgo } from '../components/ui';
import { useStore } from '../store';

interface Chunk { id: number; stream: string; text: string }

/** Runs a command in the project folder and streams its output live (resuming by chunk id if the stream drops). */
export function Run({ projectId }: { projectId: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [command, setCommand] = useState('');
  const [run, setRun] = useState<CommandRun | null>(null);
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [exit, setExit] = useState<{ exitCode?: number | null; status: string; durationMs?: number } | null>(null);
  const [history, setHistory] = useState<CommandRun[]>([]);
  const [error, setError] = useState<string | null>(null);
  const source = useRef<EventSource | null>(null);
  const output = useRef<HTMLPreElement>(null);

  const loadHistory = () => api.commands(projectId).then(setHistory, () => {});
  useEffect(() => {
    void loadHistory();
    return () => source.current?.close();
  }, [projectId]);
  useEffect(() => {
    const el = output.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [chunks]);

  const follow = (id: string) => {
    source.current?.close();
    setChunks([]);
    setExit(null);
    let last = 0;
    const open = () => {
      // EventSource sends Last-Event-ID itself on its own retries; after= covers a reconnect we start.
      const es = new EventSource(`/api/commands/${encodeURIComponent(id)}/events?after=${last}`);
      source.current = es;
      es.addEventListener('output', (m) => {
        const idNum = Number((m as MessageEvent).lastEventId);
        if (idNum <= last) return;
        last = idNum;
        const data = JSON.parse(String((m as MessageEvent).data)) as { stream: string; text: string };
        setChunks((c) => [...c, { id: idNum, stream: data.stream, text: data.text }]);
      });
      es.addEventListener('exit', (m) => {
        setExit(JSON.parse(String((m as MessageEvent).data)) as { exitCode?: number; status: string; durationMs?: number });
        es.close();
        void loadHistory();
      });
    };
    open();
  };

  const start = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const started = await api.runCommand(projectId, command.trim());
      const detail = await api.command(started.id);
      setRun(detail);
      follow(started.id);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const running = run && !exit;
  return (
    <>
      <AppBar back="/" title="Run a command" subtitle={<span class="muted small">{project?.name}</span>} />
      <main class="page run">
        <form class="composer-row run-form" onSubmit={start}>
          <input class="mono" value={command} placeholder="npm test" autoCapitalize="off" autoCorrect="off" spellcheck={false} aria-label="Command"
            onInput={(e) => setCommand((e.target as HTMLInputElement).value)} />
          <button class="send" type="submit" aria-label="Run" disabled={!command.trim() || !!running}><Icon name="send" /></button>
        </form>
        <ErrorNote error={error} />
        {run && (
          <section class="run-output">
            <div class="section-head">
              <code class="run-command">$ {run.command}</code>
              {running
                ? <button class="btn danger-ghost small" onClick={() => void api.cancelCommand(run.id).catch((e) => setError(describeError(e)))}><Icon name="stop" size={16} /> Stop</button>
                : <span class={`badge ${exit?.exitCode === 0 ? 'rule-allow' : 'badge-bad'}`} data-testid="exit">
                    {exit?.status === 'exited' ? `exit ${exit.exitCode}` : exit?.status}{exit?.durationMs != null ? ` · ${(exit.durationMs / 1000).toFixed(1)} s` : ''}
                  </span>}
            </div>
            <pre class="terminal" ref={output} data-testid="command-output">
              {chunks.map((c) => <span key={c.id} class={c.stream === 'stderr' ? 'stderr-text' : undefined}>{c.text}</span>)}
              {running && <span class="cursor">▍</span>}
            </pre>
          </section>
        )}
        {history.length > 0 && (
          <section>
            <div class="section-head"><h2>Recent</h2></div>
            <ul class="list">
              {history.map((h) => (
                <li key={h.id}>
                  <button class="list-row history-row" onClick={() => { setRun(h); setCommand(h.command); follow(h.id); }}>
                    <code class="grow">{h.command}</code>
                    <span class="muted small">{h.status === 'exited' ? `exit ${h.exitCode}` : h.status} · {timeAgo(h.startedAt)}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </main>
    </>
  );
}

const KEYS: { label: string; keys: string[] }[] = [
  { label: 'Esc', keys: ['Escape'] }, { label: 'Tab', keys: ['Tab'] }, { label: '↑', keys: ['Up'] }, { label: '↓', keys: ['Down'] },
  { label: '←', keys: ['Left'] }, { label: '→', keys: ['Right'] }, { label: 'Ctrl-C', keys: ['C-c'] }, { label: 'Ctrl-D', keys: ['C-d'] },
];

/** The project's persistent shell (tmux on the server): the server sends the rendered screen, we send keys. */
export function Terminal({ projectId, session }: { projectId: string; session?: string }) {
  const project = useStore((s) => s.projects.find((p) => p.id === projectId));
  const [screen, setScreen] = useState<TerminalScreen | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let es: EventSource | undefined;
    let closed = false;
    // A phone is narrow: ask for a screen that fits it at a readable size.
    const cols = Math.max(40, Math.min(120, Math.floor((window.innerWidth - 24) / 7.4)));
    api.openTerminal(projectId, cols, 30, session).then((opened) => {
      if (closed) return;
      setScreen(opened.screen);
      es = new EventSource(api.terminalEventsUrl(projectId, session));
      es.addEventListener('screen', (m) => setScreen(JSON.parse(String((m as MessageEvent).data)) as TerminalScreen));
      es.addEventListener('closed', () => setError('The shell ended. Open the terminal again for a new one.'));
    }, (e) => setError(describeError(e)));
    return () => {
      closed = true;
      es?.close();
    };
  }, [projectId, session]);

  // Input before the shell is open would be refused (no terminal yet) and lost: the composer waits for it.
  const ready = screen !== null;
  const send = (input: { text?: string; keys?: string[] }) => api.terminalInput(projectId, input, session).catch((e) => setError(describeError(e)));

  return (
    <>
      <AppBar back={session ? `/s/${session}` : '/'} title="Terminal"
        subtitle={<span class="muted small">{project?.name}{session ? ' · the session\'s branch' : ''}</span>} />
      <main class="page terminal-page">
        <ErrorNote error={error} />
        <pre class="terminal screen" data-testid="terminal-screen">{screen?.text ?? ''}</pre>
      </main>
      <footer class="composer">
        <div class="keys">
          {KEYS.map((k) => <button key={k.label} class="key" disabled={!ready} onClick={() => void send({ keys: k.keys })}>{k.label}</button>)}
        </div>
        <form class="composer-row" onSubmit={(e) => { e.preventDefault(); void send({ text, keys: ['Enter'] }); setText(''); }}>
          <input class="mono" value={text} placeholder={ready ? 'Command, Enter sends' : 'Opening the terminal…'} autoCapitalize="off" autoCorrect="off" spellcheck={false}
            aria-label="Terminal input" disabled={!ready} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
          <button class="send" type="submit" aria-label="Send to terminal" disabled={!ready}><Icon name="send" /></button>
        </form>
      </footer>
    </>
  );
}
