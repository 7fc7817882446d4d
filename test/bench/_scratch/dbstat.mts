import Database from 'better-sqlite3';
const db = new Database(process.argv[2], { readonly: true });
console.log(db.pragma('page_size'), db.pragma('page_count'), db.pragma('freelist_count'));
try { console.log(db.prepare("SELECT name, count(*) pages, sum(payload) payload, sum(unused) unused, sum(ncell) cells FROM dbstat GROUP BY name").all()); } catch (e) { console.log('no dbstat', (e as Error).message); }
