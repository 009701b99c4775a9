// Prints the layout of glibc's SysV IPC structs, which on amd64 mirror
// the kernel's 64-bit ones, in the format of layout_kernel.c.
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define S(k, t) printf("%s size %zu\n", k, sizeof(struct t))
#define F(k, t, f, n) printf("%s %s %zu %zu\n", k, n, offsetof(struct t, f), sizeof(((struct t *)0)->f))

int main(void) {
	S("perm", ipc_perm);
	F("perm", ipc_perm, __key, "key");
	F("perm", ipc_perm, uid, "uid");
	F("perm", ipc_perm, gid, "gid");
	F("perm", ipc_perm, cuid, "cuid");
	F("perm", ipc_perm, cgid, "cgid");
	F("perm", ipc_perm, mode, "mode");
	F("perm", ipc_perm, __seq, "seq");

	S("sem", semid_ds);
	F("sem", semid_ds, sem_perm, "perm");
	F("sem", semid_ds, sem_otime, "otime");
	F("sem", semid_ds, sem_ctime, "ctime");
	F("sem", semid_ds, sem_nsems, "nsems");

	S("sembuf", sembuf);
	F("sembuf", sembuf, sem_num, "num");
	F("sembuf", sembuf, sem_op, "op");
	F("sembuf", sembuf, sem_flg, "flg");

	S("seminfo", seminfo);
	F("seminfo", seminfo, semmap, "semmap");
	F("seminfo", seminfo, semmni, "semmni");
	F("seminfo", seminfo, semmns, "semmns");
	F("seminfo", seminfo, semmnu, "semmnu");
	F("seminfo", seminfo, semmsl, "semmsl");
	F("seminfo", seminfo, semopm, "semopm");
	F("seminfo", seminfo, semume, "semume");
	F("seminfo", seminfo, semusz, "semusz");
	F("seminfo", seminfo, semvmx, "semvmx");
	F("seminfo", seminfo, semaem, "semaem");

	S("msq", msqid_ds);
	F("msq", msqid_ds, msg_perm, "perm");
	F("msq", msqid_ds, msg_stime, "stime");
	F("msq", msqid_ds, msg_rtime, "rtime");
	F("msq", msqid_ds, msg_ctime, "ctime");
	F("msq", msqid_ds, __msg_cbytes, "cbytes");
	F("msq", msqid_ds, msg_qnum, "qnum");
	F("msq", msqid_ds, msg_qbytes, "qbytes");
	F("msq", msqid_ds, msg_lspid, "lspid");
	F("msq", msqid_ds, msg_lrpid, "lrpid");

	S("msginfo", msginfo);
	F("msginfo", msginfo, msgpool, "msgpool");
	F("msginfo", msginfo, msgmap, "msgmap");
	F("msginfo", msginfo, msgmax, "msgmax");
	F("msginfo", msginfo, msgmnb, "msgmnb");
	F("msginfo", msginfo, msgmni, "msgmni");
	F("msginfo", msginfo, msgssz, "msgssz");
	F("msginfo", msginfo, msgtql, "msgtql");
	F("msginfo", msginfo, msgseg, "msgseg");

	S("shm", shmid_ds);
	F("shm", shmid_ds, shm_perm, "perm");
	F("shm", shmid_ds, shm_segsz, "segsz");
	F("shm", shmid_ds, shm_atime, "atime");
	F("shm", shmid_ds, shm_dtime, "dtime");
	F("shm", shmid_ds, shm_ctime, "ctime");
	F("shm", shmid_ds, shm_cpid, "cpid");
	F("shm", shmid_ds, shm_lpid, "lpid");
	F("shm", shmid_ds, shm_nattch, "nattch");
	return 0;
}
