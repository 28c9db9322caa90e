/**
 * The registration of emu's programs: each line loads one program's module, which registers
 * the plan ops it carries out (programs.ts) as it loads. A new driver's program adds its
 * line here; `translate.ts` and `backend.ts` name none (test/architecture.test.ts). The
 * programs are started, configured and settled in the ranks their registrations state, not
 * in the order of these lines.
 */
import './bird';
import './weaver';
