/** The host driver's own file in each layer; each registers itself with its layer's registry as it loads. */
import '../model/drivers/host';
import '../trace/paths/host';
