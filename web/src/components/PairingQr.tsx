import { useEffect, useState } from 'preact/hooks';

/**
 * The pairing link as a QR code, drawn here (the link's code never leaves this phone for it: no image service, and the
 * server never sees the fragment). The encoder is loaded only when a code is shown, so the first load stays small.
 */
export function PairingQr({ link }: { link: string }) {
  const [svg, setSvg] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import('uqr').then(({ renderSVG }) => {
      if (live) setSvg(renderSVG(link, { ecc: 'M', border: 2 }));
    }, () => {});
    return () => { live = false; };
  }, [link]);
  // uqr's SVG is built from the link's bits alone (rects and a path), never from markup in the link.
  return svg
    ? <div class="pairing-qr" role="img" aria-label="QR code of the pairing link" data-testid="pairing-qr" dangerouslySetInnerHTML={{ __html: svg }} />
    : <div class="pairing-qr" aria-hidden="true" />;
}

/** The platform's share sheet where there is one (phones), so the link goes by whatever app the owner uses. */
export function canShare(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.share === 'function';
}
