import { randomBytes } from 'node:crypto';

/**
 * Untrusted data (alert fields, e-mail bodies and headers, intel text, comments, observables) goes to the
 * model only inside labelled blocks fenced by a per-prompt random nonce:
 *
 *   <<<DATA 3f9c… | alert 1 field description>>>
 *   …content…
 *   <<<END 3f9c…>>>
 *
 * The content cannot close its block: every `<<<` and `>>>` inside it is replaced by look-alike guillemets
 * before it is placed, and the nonce is unguessable anyway. Control characters (other than newline and
 * tab) and bidi overrides are dropped so hidden text cannot reorder what a reviewer reads.
 */
export interface DataBlock {
  /** Where the data came from ("alert 1 field description"): shown to the model and in injection signals. */
  label: string;
  content: string;
}

export const MAX_BLOCK_CHARS = 8000;

export function newFence(): string {
  return randomBytes(8).toString('hex');
}

export function neutralise(text: string, max = MAX_BLOCK_CHARS): string {
  const cleaned = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: dropping control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/<<</g, '‹‹‹')
    .replace(/>>>/g, '›››')
    // A lone "<<" or ">>" next to a neutralised run could still combine with the fence's own characters.
    .replace(/<</g, '‹‹')
    .replace(/>>/g, '››');
  return cleaned.length > max ? `${cleaned.slice(0, max)}… [truncated ${cleaned.length - max} chars]` : cleaned;
}

export function renderBlock(block: DataBlock, fence: string): string {
  const label = neutralise(block.label, 120).replace(/[|\n]/g, ' ');
  return `<<<DATA ${fence} | ${label}>>>\n${neutralise(block.content)}\n<<<END ${fence}>>>`;
}

export function renderBlocks(blocks: readonly DataBlock[], fence: string): string {
  return blocks.map((block) => renderBlock(block, fence)).join('\n');
}
