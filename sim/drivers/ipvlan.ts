/** The ipvlan driver's own file in each layer; each registers itself with its layer's registry as it loads. */
import '../model/drivers/ipvlan';
import '../plan/links/ipvlan';
import '../kernel/net/ipvlan';
import '../trace/paths/ipvlan';
import '../compare/ipvlan';
