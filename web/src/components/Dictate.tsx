import { useEffect, useRef, useState } from 'preact/hooks';
import { Icon } from './ui';

// The Web Speech API, as far as this app uses it; Chrome and Safari still name it webkitSpeechRecognition.
interface Recognition {
  lang: string;
  interimResults: boolean;
  continuous: boolean;
  onresult: ((event: { resultIndex: number; results: ArrayLike<{ isFinal: boolean; 0: { transcript: string } }> }) => void) | null;
  onerror: ((event: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
}
type RecognitionClass = new () => Recognition;

function recognitionClass(): RecognitionClass | undefined {
  const w = window as unknown as { SpeechRecognition?: RecognitionClass; webkitSpeechRecognition?: RecognitionClass };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition;
}

const PROBLEMS: Record<string, string> = {
  'not-allowed': 'The microphone is not allowed for this site: allow it in the browser settings.',
  'service-not-allowed': 'Dictation is not available in this browser.',
  'audio-capture': 'No microphone was found.',
  network: 'Dictation needs a connection to the browser’s speech service.',
};

/**
 * A microphone button that dictates into a text box with the platform's own speech recognition. Rendered only where
 * the browser offers it; each finished phrase is handed to `onText`, to be added to what is already typed.
 */
export function Dictate({ onText, onProblem }: { onText: (text: string) => void; onProblem?: (problem: string | null) => void }) {
  const Speech = recognitionClass();
  const [listening, setListening] = useState(false);
  const recognition = useRef<Recognition | null>(null);
  useEffect(() => () => recognition.current?.stop(), []);
  if (!Speech) return null;

  const toggle = () => {
    if (recognition.current) {
      recognition.current.stop();
      return;
    }
    const r = new Speech();
    r.lang = navigator.language || 'en-US';
    r.interimResults = false;
    r.continuous = true;
    r.onresult = (event) => {
      for (let i = event.resultIndex; i < event.results.length; i++) {
        const result = event.results[i]!;
        if (result.isFinal && result[0].transcript.trim()) onText(result[0].transcript.trim());
      }
    };
    r.onerror = (event) => {
      if (event.error !== 'no-speech' && event.error !== 'aborted') onProblem?.(PROBLEMS[event.error] ?? `Dictation stopped: ${event.error}.`);
    };
    r.onend = () => {
      recognition.current = null;
      setListening(false);
    };
    onProblem?.(null);
    recognition.current = r;
    setListening(true);
    r.start();
  };

  return (
    <button type="button" class={`icon-btn dictate${listening ? ' listening' : ''}`} aria-pressed={listening}
      aria-label={listening ? 'Stop dictating' : 'Dictate'} onClick={toggle}><Icon name="mic" /></button>
  );
}

/** Adds dictated words to a draft: a space between, none at the start. */
export function appendDictated(draft: string, words: string): string {
  return draft && !/\s$/.test(draft) ? `${draft} ${words}` : draft + words;
}
