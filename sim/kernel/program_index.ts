/**
 * The registration of the sim kernel's programs: each line loads one program's module,
 * which registers its plan ops and its entry in a namespace (program_registry.ts) as it
 * loads. A new driver's kernel program adds its line here; no other shared file of the
 * kernel names it (test/architecture.test.ts). The lines' order is no order of the kernel's:
 * what is listed (control planes, link types) is in the ranks the registrations state.
 */
import './net/openvswitch';
import './weaver';
import './weave_mesh';
import './bird';
