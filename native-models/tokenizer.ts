// CLIP text tokenizer (tokenizer.json with CLIP's 77-token context): written in plain JavaScript in
// clip-tokenizer.mjs, which the text worker (text-worker.mjs) loads too; imported from here.
export { ClipTokenizer, cleanText } from './clip-tokenizer.mjs';
