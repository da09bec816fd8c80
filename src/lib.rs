//! gevent
