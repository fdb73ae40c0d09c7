import { useEffect, useRef } from 'preact/hooks';
import type { components } from '../api.gen';
import { Icon } from './ui';

export type Attachment = components['schemas']['AttachmentRequest'] & { name: string; data: string; size: number; preview?: string };

// What the server takes (docs/api.md): four files, images up to 5 MB, text up to 256 KB, 8 MB together.
export const MAX_ATTACHMENTS = 4;
const MAX_IMAGE = 5 * 1024 * 1024;
const MAX_TEXT = 256 * 1024;
const MAX_TOTAL = 8 * 1024 * 1024;
// Models see about this many pixels on the long side; a phone photo is three times that and ten times the bytes.
const LONG_SIDE = 1568;
const MODEL_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

function base64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).slice(String(reader.result).indexOf(',') + 1));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(blob);
  });
}

/** An image made to fit what a model takes: scaled down to LONG_SIDE, and re-encoded when its type is not one models read (HEIC). */
async function fitted(file: File): Promise<Blob> {
  if (file.type === 'image/gif') return file;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return file; // the browser cannot decode it: the server says what is wrong with it
  }
  const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && MODEL_IMAGES.includes(file.type) && file.size <= MAX_IMAGE) {
    bitmap.close();
    return file;
  }
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const type = file.type === 'image/png' ? 'image/png' : 'image/jpeg';
  return await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b ?? file), type, 0.85));
}

export async function readAttachment(file: File): Promise<Attachment> {
  const image = file.type.startsWith('image/');
  const blob = image ? await fitted(file) : file;
  if (blob.size > (image ? MAX_IMAGE : MAX_TEXT)) {
    throw new Error(`${file.name} is ${(blob.size / 1024 / 1024).toFixed(1)} MB; ${image ? 'an image goes up to 5 MB' : 'a text file goes up to 256 KB'}.`);
  }
  return { name: file.name, data: await base64(blob), size: blob.size, preview: image ? URL.createObjectURL(blob) : undefined };
}

/**
 * The paperclip and the chips of what is attached. Images go to the model as images (on agents that take them: the
 * server says where not); text files go into the prompt.
 */
/**
 * `attached`: what is already attached. `onReading` says while files are being read (sending then waits), and `onAdd`
 * hands over the new ones, to be added to whatever is attached by then.
 */
export function AttachButton({ attached, onAdd, onReading, onProblem }: {
  attached: Attachment[]; onAdd: (a: Attachment[]) => void; onReading: (reading: boolean) => void; onProblem: (p: string | null) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const count = attached.length;
  const pick = async (files: FileList | null) => {
    if (!files?.length) return;
    onProblem(null);
    onReading(true);
    const room = MAX_ATTACHMENTS - count;
    if (files.length > room) onProblem(`At most ${MAX_ATTACHMENTS} attachments go with one message.`);
    let total = attached.reduce((n, a) => n + a.size, 0);
    const added: Attachment[] = [];
    try {
      for (const file of [...files].slice(0, Math.max(0, room))) {
        try {
          const read = await readAttachment(file);
          if (total + read.size > MAX_TOTAL) {
            release([read]);
            onProblem(`${file.name} would take the attachments past 8 MB together.`);
            continue;
          }
          total += read.size;
          added.push(read);
        } catch (e) {
          onProblem(e instanceof Error ? e.message : String(e));
        }
      }
    } finally {
      if (input.current) input.current.value = '';
      onReading(false);
    }
    if (added.length) onAdd(added);
  };
  return (
    <>
      <button type="button" class="icon-btn attach" aria-label="Attach a file or image" disabled={count >= MAX_ATTACHMENTS}
        onClick={() => input.current?.click()}><Icon name="attach" /></button>
      <input ref={input} type="file" multiple hidden data-testid="attach-input" onChange={(e) => void pick((e.target as HTMLInputElement).files)} />
    </>
  );
}

/** Thumbnails are object URLs: let them go with their attachments (removed, sent, or the screen left). */
export function release(attachments: Attachment[]): void {
  for (const a of attachments) if (a.preview) URL.revokeObjectURL(a.preview);
}

export function AttachmentChips({ attachments, onRemove }: { attachments: Attachment[]; onRemove: (index: number) => void }) {
  const shown = useRef(attachments);
  shown.current = attachments;
  useEffect(() => () => release(shown.current), []);
  if (attachments.length === 0) return null;
  return (
    <ul class="attachments" aria-label="Attachments">
      {attachments.map((a, i) => (
        <li key={`${a.name}-${i}`} class="attachment-chip">
          {a.preview ? <img src={a.preview} alt="" /> : <Icon name="file" size={18} />}
          <span class="attachment-name">{a.name}</span>
          <span class="muted small">{a.size < 1024 ? `${a.size} B` : `${Math.round(a.size / 1024)} KB`}</span>
          <button type="button" class="icon-btn" aria-label={`Remove ${a.name}`} onClick={() => {
            release([a]);
            onRemove(i);
          }}><Icon name="cross" size={18} /></button>
        </li>
      ))}
    </ul>
  );
}

/** What the API takes: name and data only. */
export const wire = (attachments: Attachment[]) => attachments.map(({ name, data }) => ({ name, data }));
