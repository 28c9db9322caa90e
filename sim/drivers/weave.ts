/** Weave Net's own file in each layer, and its front end (the weave script); each registers itself with its layer's registry as it loads. */
import '../model/drivers/weave';
import '../trace/paths/weave';
import '../compare/weave';
import '../weave/cli';
