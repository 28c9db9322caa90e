/**
 * The network drivers' registration: one line a driver. Each line loads the driver's
 * bundle (`./<driver>.ts`), which loads the driver's own file in each layer it takes part
 * in; each of those registers itself with its layer's registry as it loads (the model's
 * driver, the plan's link kind, the sim kernel's device, the path model, the comparison's
 * part). This module sits above the layers so that none of them imports another it must
 * not (ARCHITECTURE.md, import rules); the entry points import it first: the CLI
 * (`bin/main.ts`), the browser lab (`lab/web/main.ts`), the benchmarks and jest's setup
 * (`test/helpers/drivers.ts`). `test/driver-registration.test.ts` holds every line here to
 * one driver whose files are its own, and every registry to what the others registered.
 */
import './overlay';
import './bridge';
import './host';
import './null';
import './flannel';
import './calico';
import './weave';
import './macvlan';
import './ipvlan';
