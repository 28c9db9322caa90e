/** The macvlan driver's own file in each layer; each registers itself with its layer's registry as it loads. */
import '../model/drivers/macvlan';
import '../plan/links/macvlan';
import '../kernel/net/macvlan';
import '../trace/paths/macvlan';
import '../compare/macvlan';
