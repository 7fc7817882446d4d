import { ensureSyntheticLibrary } from '../synthetic-library.ts';
const n = Number(process.argv[2] ?? 100000);
console.log(await ensureSyntheticLibrary({ n, modelId: 'test-vit-b-32-seed1', dim: 512 }));
