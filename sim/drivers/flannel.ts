/** Flannel's own file in each layer, and its front end (etcdctl, flanneld, docker's restart); each registers itself with its layer's registry as it loads. */
import '../model/drivers/flannel';
import '../trace/paths/flannel';
import '../compare/flannel';
import '../flannel/flanneld';
