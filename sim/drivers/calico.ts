/** Calico's own file in each layer, and its front end (calicoctl); each registers itself with its layer's registry as it loads. */
import '../model/drivers/calico';
import '../trace/paths/calico';
import '../compare/calico';
import '../calico/calicoctl';
