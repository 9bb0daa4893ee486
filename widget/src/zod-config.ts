/**
 * Imported first by each entry (page and worker): zod's JIT compiles parsers with
 * `new Function`, which a strict Content-Security-Policy forbids and reports even when zod
 * catches the failure. `jitless` must be set before any schema is built.
 */
import { z } from 'zod';

z.config({ jitless: true });
